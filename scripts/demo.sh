#!/usr/bin/env bash
# Runs polysim (a local simulated Polygon with synthetic leaders) and polybot against it, in the
# foreground. Ctrl-C stops both.
#   scripts/demo.sh [BIN_DIR]             paper mode, configs/demo.yaml
#   DEMO=live scripts/demo.sh [BIN_DIR]   live mode against polysim's fake CLOB, configs/demo-live.yaml
#   DEMO=live WALLET=eoa|proxy|safe|deposit scripts/demo.sh [BIN_DIR]
#                                         the same, trading from that kind of wallet (signature type
#                                         0 to 3; default eoa: the key's own address)
#   POLYSIM_RESOLVE_EVERY (default 45s)   how often polysim resolves a market
set -euo pipefail
bin=${1:-bin}
ws_port=${POLYSIM_WS_PORT:-8546}
http_port=${POLYSIM_HTTP_PORT:-8545}
config=configs/demo.yaml
state=.polybot-state
# A market resolves every 45 s: polybot closes its position in it (in paper mode too: it learns
# each token's market from the chain) and frees the limits it held.
resolve_every=${POLYSIM_RESOLVE_EVERY:-45s}
extra=(--resolve-every "$resolve_every")
if [[ ${DEMO:-paper} == live ]]; then
	config=configs/demo-live.yaml
	state=.polybot-state-live
fi
# POLYBOT_STATE_DIR (state_dir) moves the demo's state, as it does polybot's.
state=${POLYBOT_STATE_DIR:-$state}
if [[ ${DEMO:-paper} == live ]]; then
	# Every third copy order answers "delayed" and matches 3 s later: polybot tracks it to its fill.
	# The first two matched answers report half of what matched: the chain corrects those copies.
	# A market resolves every 45 s: polybot closes its position and redeems the winnings from its
	# wallet.
	# POLYSIM_CLOB_PORT and POLYSIM_CREDS_DIR move the fake CLOB and its credentials (tests run
	# the demo beside a developer's); polybot is pointed at them through its environment.
	clob_port=${POLYSIM_CLOB_PORT:-8547}
	creds=${POLYSIM_CREDS_DIR:-.polysim-creds}
	export POLYBOT_LIVE_CLOB_URL="http://127.0.0.1:$clob_port"
	export POLYBOT_LIVE_KEY_FILE="$creds/polybot-key" POLYBOT_LIVE_CREDENTIALS_FILE="$creds/polybot-api"
	# WALLET picks the wallet the trading account trades from: polysim places it at the address
	# Polygon derives for the trading key, has it approve the collateral adapter as
	# polymarket.com's onboarding does, and writes its address and signature type beside the
	# key; polybot trades and redeems from it.
	wallet=${WALLET:-eoa}
	case $wallet in
	eoa | proxy | safe | deposit) ;;
	*)
		echo "demo: WALLET=$wallet: want eoa, proxy, safe or deposit" >&2
		exit 2
		;;
	esac
	extra=(--clob-port "$clob_port" --clob-creds-dir "$creds" --clob-delay-every 3 --clob-delay 3s --clob-misreport 2
		--resolve-every "$resolve_every" --clob-wallet "$wallet")
	rm -f -- "$creds/polybot-funder" "$creds/polybot-signature-type"
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

if [[ ${DEMO:-paper} == live ]]; then
	# polysim writes the funder, then the signature type, once its CLOB runs.
	for _ in $(seq 1 300); do
		[[ -s $creds/polybot-signature-type ]] && break
		if ! kill -0 "$sim" 2>/dev/null; then echo "polysim exited" >&2; exit 1; fi
		sleep 0.1
	done
	POLYBOT_LIVE_FUNDER=$(<"$creds/polybot-funder")
	POLYBOT_LIVE_SIGNATURE_TYPE=$(<"$creds/polybot-signature-type")
	export POLYBOT_LIVE_FUNDER POLYBOT_LIVE_SIGNATURE_TYPE
	case $wallet in
	eoa) what="the trading key's own address" ;;
	proxy) what="the Polymarket proxy" ;;
	safe) what="the Gnosis Safe" ;;
	deposit) what="the deposit wallet" ;;
	esac
	echo "demo: trading from $what $POLYBOT_LIVE_FUNDER (signature type $POLYBOT_LIVE_SIGNATURE_TYPE)" >&2
fi

POLYBOT_CHAIN_RPC_URL="ws://127.0.0.1:$ws_port" "$bin/polybot" run --config "$config" &
bot=$!
trap 'kill -INT "$bot" 2>/dev/null || true' INT TERM
# wait returns as soon as a trapped signal arrives: wait again until polybot has stopped.
while kill -0 "$bot" 2>/dev/null; do
	wait "$bot" || true
done
