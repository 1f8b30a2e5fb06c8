// Package ingesttest holds polybot's end-to-end chain ingestion tests: the wallet monitor
// against a real geth --dev node (POLYBOT_GETH names the binary; scripts/geth.sh builds it)
// through internal/faultproxy, and against polysim for reorgs. Without POLYBOT_GETH the geth
// tests skip, so a plain go test stays fast.
package ingesttest
