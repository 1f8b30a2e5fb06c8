#!/usr/bin/env bash
# Runs polysim (a local simulated Polygon with synthetic leaders) and polybot against it, in the
# foreground. Ctrl-C stops both.
#   scripts/demo.sh [BIN_DIR]             paper mode, configs/demo.yaml
#   DEMO=live scripts/demo.sh [BIN_DIR]   live mode against polysim's fake CLOB, configs/demo-live.yaml
#   DEMO=live WALLET=deposit scripts/demo.sh [BIN_DIR]
#                                         the same, trading from a deposit wallet (signature type 3)
set -euo pipefail
bin=${1:-bin}
ws_port=${POLYSIM_WS_PORT:-8546}
http_port=${POLYSIM_HTTP_PORT:-8545}
config=configs/demo.yaml
state=.polybot-state
# A market resolves every 45 s: polybot closes its position in it (in paper mode too: it learns
# each token's market from the chain) and frees the limits it held.
extra=(--resolve-every 45s)
if [[ ${DEMO:-paper} == live ]]; then
	config=configs/demo-live.yaml
	state=.polybot-state-live
fi
# POLYBOT_STATE_DIR (state_dir) moves the demo's state, as it does polybot's.
state=${POLYBOT_STATE_DIR:-$state}
if [[ ${DEMO:-paper} == live ]]; then
	# Every third copy order answers "delayed" and matches 3 s later: polybot tracks it to its fill.
	# The first two matched answers report half of what matched: the chain corrects those copies.
	# A market resolves every 45 s: polybot closes its position and redeems the winnings.
	# POLYSIM_CLOB_PORT and POLYSIM_CREDS_DIR move the fake CLOB and its credentials (tests run
	# the demo beside a developer's); polybot is pointed at them through its environment.
	clob_port=${POLYSIM_CLOB_PORT:-8547}
	creds=${POLYSIM_CREDS_DIR:-.polysim-creds}
	export POLYBOT_LIVE_CLOB_URL="http://127.0.0.1:$clob_port"
	export POLYBOT_LIVE_KEY_FILE="$creds/polybot-key" POLYBOT_LIVE_CREDENTIALS_FILE="$creds/polybot-api"
	extra=(--clob-port "$clob_port" --clob-creds-dir "$creds" --clob-delay-every 3 --clob-delay 3s --clob-misreport 2 --resolve-every 45s)
	if [[ ${WALLET:-eoa} == deposit ]]; then
		# polysim deploys a deposit wallet for the trading key and writes its address beside the
		# key; polybot trades from it with signature type 3.
		extra+=(--clob-deposit-wallet)
		rm -f -- "$creds/polybot-funder"
	fi
fi

# polysim starts a new chain each time, so the state of an earlier demo (its checkpoint, positions
# and the day's spend) belongs to a chain that no longer exists: every demo starts from a clean one.
if [[ -d $state ]]; then
	echo "demo: removing the previous demo's state ($state): polysim starts a new chain" >&2
	rm -rf -- "$state"
fi

# polysim runs in a session of its own, out of reach of the terminal's Ctrl-C: it is stopped on
# exit, after polybot, so that polybot's shutdown never sees its node vanish ("rpc connection
# lost" on every Ctrl-C).
setsid "$bin/polysim" --ws-port "$ws_port" --http-port "$http_port" --leaders 3 --rate 1 --block-interval 2s "${extra[@]}" &
sim=$!
stop() { kill -INT "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; }
trap stop EXIT

# Wait until polysim answers on its websocket port (and its CLOB, in live mode), at most 30 s.
ports=("$ws_port")
[[ ${DEMO:-paper} == live ]] && ports+=("$clob_port")
for port in "${ports[@]}"; do
	for _ in $(seq 1 300); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		if ! kill -0 "$sim" 2>/dev/null; then echo "polysim exited" >&2; exit 1; fi
		sleep 0.1
	done
done

if [[ ${DEMO:-paper} == live && ${WALLET:-eoa} == deposit ]]; then
	for _ in $(seq 1 300); do
		[[ -s $creds/polybot-funder ]] && break
		if ! kill -0 "$sim" 2>/dev/null; then echo "polysim exited" >&2; exit 1; fi
		sleep 0.1
	done
	POLYBOT_LIVE_FUNDER=$(<"$creds/polybot-funder")
	export POLYBOT_LIVE_SIGNATURE_TYPE=3 POLYBOT_LIVE_FUNDER
	echo "demo: trading from the deposit wallet $POLYBOT_LIVE_FUNDER (signature type 3)" >&2
fi

POLYBOT_CHAIN_RPC_URL="ws://127.0.0.1:$ws_port" "$bin/polybot" run --config "$config" &
bot=$!
trap 'kill -INT "$bot" 2>/dev/null || true' INT TERM
# wait returns as soon as a trapped signal arrives: wait again until polybot has stopped.
while kill -0 "$bot" 2>/dev/null; do
	wait "$bot" || true
done
