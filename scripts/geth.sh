#!/usr/bin/env bash
# geth.sh builds the geth binary polybot's integration tests run against and,
# optionally, starts a throwaway dev node on loopback.
#
#   scripts/geth.sh build              build (once) and print the binary's path
#   scripts/geth.sh path               print the path, building first if needed
#   scripts/geth.sh start HTTP WS [DATADIR]
#                                      run geth --dev on 127.0.0.1 in the foreground
#                                      (no DATADIR: chain kept in memory; stop with SIGINT)
#
# Environment:
#   GETH_VERSION   geth version to build (default v1.17.8, the newest the module proxy serves)
#   GETH_DIR       where the binary goes (default $(go env GOCACHE)/polybot-geth/$GETH_VERSION)
#
# Integration tests find the binary through POLYBOT_GETH:
#   POLYBOT_GETH=$(scripts/geth.sh path) go test -race -count=1 ./internal/monitor/...
set -euo pipefail

GETH_VERSION=${GETH_VERSION:-v1.17.8}
GETH_DIR=${GETH_DIR:-$(go env GOCACHE)/polybot-geth/${GETH_VERSION}}
GETH_BIN=${GETH_DIR}/geth

build() {
	if [[ -x ${GETH_BIN} ]]; then
		return 0
	fi
	mkdir -p "${GETH_DIR}"
	echo "building geth ${GETH_VERSION} into ${GETH_DIR} (about 200 s cold)" >&2
	GOBIN=${GETH_DIR} GOFLAGS=-mod=mod GOWORK=off go install "github.com/ethereum/go-ethereum/cmd/geth@${GETH_VERSION}"
}

cmd=${1:-path}
case ${cmd} in
build | path)
	build
	echo "${GETH_BIN}"
	;;
start)
	http_port=${2:?usage: geth.sh start HTTP_PORT WS_PORT [DATADIR]}
	ws_port=${3:?usage: geth.sh start HTTP_PORT WS_PORT [DATADIR]}
	datadir=${4:-}
	build
	args=(--dev --dev.period 1
		--http --http.addr 127.0.0.1 --http.port "${http_port}" --http.api eth,net,web3
		--ws --ws.addr 127.0.0.1 --ws.port "${ws_port}" --ws.api eth,net,web3
		--nodiscover --maxpeers 0 --ipcdisable --authrpc.port 0 --port 0 --verbosity 2)
	if [[ -n ${datadir} ]]; then
		args+=(--datadir "${datadir}")
	fi
	exec "${GETH_BIN}" "${args[@]}"
	;;
*)
	echo "usage: $0 {build|path|start HTTP_PORT WS_PORT [DATADIR]}" >&2
	exit 2
	;;
esac
