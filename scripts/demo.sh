#!/usr/bin/env bash
# Runs polysim (a local simulated Polygon with synthetic leaders) and polybot against it, in the
# foreground. Ctrl-C stops both.
set -euo pipefail
bin=${1:-bin}
ws_port=${POLYSIM_WS_PORT:-8546}
http_port=${POLYSIM_HTTP_PORT:-8545}

"$bin/polysim" --ws-port "$ws_port" --http-port "$http_port" --leaders 3 --rate 1 --block-interval 2s &
sim=$!
stop() { kill -INT "$sim" 2>/dev/null || true; wait "$sim" 2>/dev/null || true; }
trap stop EXIT

# Wait until polysim answers on its websocket port (at most 30 s).
for _ in $(seq 1 300); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$ws_port") 2>/dev/null; then break; fi
	if ! kill -0 "$sim" 2>/dev/null; then echo "polysim exited" >&2; exit 1; fi
	sleep 0.1
done

POLYBOT_CHAIN_RPC_URL="ws://127.0.0.1:$ws_port" "$bin/polybot" run --config configs/demo.yaml &
bot=$!
trap 'kill -INT "$bot" 2>/dev/null || true' INT TERM
wait "$bot" || true
