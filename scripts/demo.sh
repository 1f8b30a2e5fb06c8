#!/usr/bin/env bash
# Runs polysim (a local simulated Polygon with synthetic leaders) and polybot against it, in the
# foreground. Ctrl-C stops both.
#   scripts/demo.sh [BIN_DIR]             paper mode, configs/demo.yaml
#   DEMO=live scripts/demo.sh [BIN_DIR]   live mode against polysim's fake CLOB, configs/demo-live.yaml
set -euo pipefail
bin=${1:-bin}
ws_port=${POLYSIM_WS_PORT:-8546}
http_port=${POLYSIM_HTTP_PORT:-8545}
config=configs/demo.yaml
extra=()
if [[ ${DEMO:-paper} == live ]]; then
	config=configs/demo-live.yaml
	# Every third copy order answers "delayed" and matches 3 s later: polybot tracks it to its fill.
	# The first two matched answers report half of what matched: the chain corrects those copies.
	# A market resolves every 45 s: polybot closes its position and redeems the winnings.
	extra=(--clob-port 8547 --clob-creds-dir .polysim-creds --clob-delay-every 3 --clob-delay 3s --clob-misreport 2 --resolve-every 45s)
fi

"$bin/polysim" --ws-port "$ws_port" --http-port "$http_port" --leaders 3 --rate 1 --block-interval 2s "${extra[@]}" &
sim=$!
stop() { kill -INT "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; }
trap stop EXIT

# Wait until polysim answers on its websocket port (and its CLOB, in live mode), at most 30 s.
ports=("$ws_port")
[[ ${DEMO:-paper} == live ]] && ports+=(8547)
for port in "${ports[@]}"; do
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		if ! kill -0 "$sim" 2>/dev/null; then echo "polysim exited" >&2; exit 1; fi
		sleep 0.1
	done
done

POLYBOT_CHAIN_RPC_URL="ws://127.0.0.1:$ws_port" "$bin/polybot" run --config "$config" &
bot=$!
trap 'kill -INT "$bot" 2>/dev/null || true' INT TERM
wait "$bot" || true
