#!/usr/bin/env bash
# Soak-test polybot: build polybot, polysim and polysoak, then run polysoak (cmd/polysoak) against
# polysim --fast. Arguments go to polysoak, e.g.:
#   scripts/soak.sh --short                  # CI: 20,000 fills at 500/s, coarse checks, a few minutes
#   scripts/soak.sh --fills 1000000          # 1M fills
#   scripts/soak.sh                          # the full soak: 10,000,000 fills at 600/s (about 5 hours)
#   scripts/soak.sh --out /tmp/soak --rate 10000
# Output (CSV, PNG plot, configs, logs) goes to --out, or a new temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${POLYSOAK_BIN:-$(mktemp -d -t polysoak-bin.XXXXXX)}"
mkdir -p "$bin"
echo "soak.sh: building into $bin ($(go version))"
CGO_ENABLED=0 go build -trimpath -o "$bin/" ./cmd/polybot ./cmd/polysim ./cmd/polysoak
exec "$bin/polysoak" --bin "$bin" "$@"
