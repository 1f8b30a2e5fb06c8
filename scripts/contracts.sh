#!/usr/bin/env bash
# Compiles polysim's Solidity stand-ins (internal/testing/contracts/src/*.sol) with a pinned
# solc from the npm registry, into internal/testing/contracts/build/<Contract>.{abi,bin}.
#   scripts/contracts.sh          rebuild the artifacts (commit them: tests read only these)
#   scripts/contracts.sh --check  rebuild into a temporary folder and fail if the committed
#                                 artifacts differ from what the sources compile to (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
SOLC_VERSION=0.8.30
dir=internal/testing/contracts
cache=${POLYBOT_SOLC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/polybot/solc-$SOLC_VERSION}
if [[ ! -x $cache/node_modules/.bin/solcjs ]]; then
	command -v npm >/dev/null || { echo "contracts.sh: npm is needed to fetch solc $SOLC_VERSION" >&2; exit 1; }
	mkdir -p "$cache"
	npm install --silent --prefix "$cache" "solc@$SOLC_VERSION" >&2
fi
solcjs=$cache/node_modules/.bin/solcjs
got=$("$solcjs" --version)
[[ $got == "$SOLC_VERSION"+* ]] || { echo "contracts.sh: solcjs is $got, want $SOLC_VERSION" >&2; exit 1; }

out=$dir/build
check=false
if [[ ${1:-} == --check ]]; then
	check=true
	out=$(mktemp -d)
	trap 'rm -rf "$out" "$raw"' EXIT
fi
raw=$(mktemp -d)
[[ $check == true ]] || trap 'rm -rf "$raw"' EXIT
srcs=("$dir"/src/*.sol)
# One compilation of all sources: solcjs names its outputs <path_with_underscores>_<Contract>.
(cd "$dir/src" && "$solcjs" --optimize --optimize-runs 200 --bin --abi \
	--base-path . -o "$raw" $(printf '%s\n' "${srcs[@]##*/}"))
[[ $check == true ]] || rm -f "$out"/*.abi "$out"/*.bin
for f in "$raw"/*; do
	base=${f##*/}
	ext=${base##*.}
	name=${base%.*}
	name=${name##*_sol_}
	# Interfaces and abstract contracts compile to an empty .bin: keep only deployable ones.
	if [[ $ext == bin && ! -s $f ]]; then continue; fi
	if [[ $ext == abi && ! -s ${f%.abi}.bin ]]; then continue; fi
	cp "$f" "$out/$name.$ext"
done
if [[ $check == true ]]; then
	if ! diff -r "$dir/build" "$out" >/dev/null; then
		echo "contracts.sh: the artifacts in $dir/build are not what src/ compiles to; run scripts/contracts.sh and commit" >&2
		diff -rq "$dir/build" "$out" >&2 || true
		exit 1
	fi
	echo "contracts.sh: $dir/build matches src/ (solc $SOLC_VERSION)"
fi
