#!/usr/bin/env bash
# Checks the systemd units in deploy/:
#   - `systemd-analyze verify` on each unit (the template as an instance,
#     polybot.service also with the live-mode drop-in applied): any warning
#     about our files fails, not only a non-zero exit, since verify exits 0
#     on unknown keys and unparsable values;
#   - `systemd-analyze security --offline=true`: each unit's overall exposure
#     must be at most MAX_EXPOSURE (default 1.5; lower is safer);
#   - memory limits: polybot's units set MemoryHigh= below MemoryMax=, and
#     GOMEMLIMIT below MemoryHigh=, the same in polybot.service and
#     polybot@.service (docs/performance.md#memory-limits).
#
#   scripts/lint-unit.sh
#
# verify checks that ExecStart= names an executable. polybot and polysim are
# not installed here, so each unit is checked as a copy in a temporary
# directory whose ExecStart= points at a copy of true(1) with the same name;
# the rest of the unit is unchanged. Installs the Debian systemd package if
# systemd-analyze is missing. Never starts or talks to a running systemd.
set -euo pipefail

MAX_EXPOSURE=${MAX_EXPOSURE:-1.5}
root=$(cd "$(dirname "$0")/.." && pwd)
deploy=${DEPLOY_DIR:-$root/deploy} # DEPLOY_DIR: lint another copy

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd-analyze not found: installing the systemd package"
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
		echo "lint-unit: need root and apt-get to install systemd; install it and retry" >&2
		exit 1
	fi
	apt-get install -y --no-install-recommends systemd ||
		{ apt-get update && apt-get install -y --no-install-recommends systemd; }
fi
systemd-analyze --version | head -n 1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/units"
for b in polybot polysim; do
	cp "$(type -P true)" "$tmp/bin/$b"
done
for f in "$deploy"/*.service; do
	sed "s|^ExecStart=/usr/local/bin/|ExecStart=$tmp/bin/|" "$f" >"$tmp/units/$(basename "$f")"
done
# The live drop-in, as an admin would install it.
mkdir -p "$tmp/units-live/polybot.service.d"
cp "$tmp/units/polybot.service" "$tmp/units-live/"
cp "$deploy/polybot.service.d/live.conf.example" "$tmp/units-live/polybot.service.d/live.conf"

failed=0

# verify UNIT_PATH: fails on a non-zero exit or on any line about our units.
verify() {
	local out rc=0
	out=$(systemd-analyze verify "$1" 2>&1) || rc=$?
	local ours
	ours=$(grep -E "$tmp|polybot|polysim" <<<"$out" || true)
	if [ "$rc" -ne 0 ] || [ -n "$ours" ]; then
		echo "FAIL verify $1 (exit $rc):"
		sed 's/^/    /' <<<"$out"
		failed=1
	else
		echo "ok   verify ${1#"$tmp"/}"
		# Lines about other units on this host are not ours to fix.
		[ -z "$out" ] || sed 's/^/    note: /' <<<"$out"
	fi
}

# security UNIT_PATH: prints the overall exposure, fails above MAX_EXPOSURE.
security() {
	local out line score
	if ! out=$(systemd-analyze security --offline=true "$1" 2>&1); then
		echo "FAIL security $1:"
		sed 's/^/    /' <<<"$out"
		failed=1
		return
	fi
	line=$(grep 'Overall exposure level' <<<"$out" || true)
	score=$(sed -nE 's/.*: ([0-9]+\.[0-9]+) .*/\1/p' <<<"$line")
	if [ -z "$score" ]; then
		echo "FAIL security $1: no overall exposure level in the output"
		failed=1
		return
	fi
	if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s > m) }'; then
		echo "FAIL security $(basename "$1"): exposure $score > $MAX_EXPOSURE; exposed:"
		grep '✗' <<<"$out" | sed 's/^/    /'
		failed=1
	else
		echo "ok   security $(basename "$1"): exposure $score (max $MAX_EXPOSURE)"
	fi
}

# memory_limits UNIT: prints "MemoryHigh MemoryMax" in bytes; fails unless both
# are set, GOMEMLIMIT < MemoryHigh= < MemoryMax=.
memory_limits() {
	local high max gomem hb mb gb
	high=$(sed -n 's/^MemoryHigh=//p' "$1" | tail -n 1)
	max=$(sed -n 's/^MemoryMax=//p' "$1" | tail -n 1)
	gomem=$(sed -n 's/^Environment=GOMEMLIMIT=\([0-9]*\)MiB$/\1/p' "$1" | tail -n 1)
	if [ -z "$high" ] || [ -z "$max" ] || [ -z "$gomem" ]; then
		echo "FAIL memory $(basename "$1"): MemoryHigh= ($high), MemoryMax= ($max) and Environment=GOMEMLIMIT=<n>MiB ($gomem) must all be set" >&2
		return 1
	fi
	hb=$(numfmt --from=iec "$high") mb=$(numfmt --from=iec "$max") gb=$((gomem << 20))
	if [ "$gb" -ge "$hb" ] || [ "$hb" -ge "$mb" ]; then
		echo "FAIL memory $(basename "$1"): want GOMEMLIMIT ${gomem}MiB < MemoryHigh=$high < MemoryMax=$max" >&2
		return 1
	fi
	echo "$hb $mb"
}
single=$(memory_limits "$deploy/polybot.service") || failed=1
multi=$(memory_limits "$deploy/polybot@.service") || failed=1
if [ -n "$single" ] && [ "$single" != "$multi" ]; then
	echo "FAIL memory: polybot.service ($single) and polybot@.service ($multi) set different limits"
	failed=1
elif [ -n "$single" ]; then
	echo "ok   memory limits: MemoryHigh=$(numfmt --to=iec "${single% *}") MemoryMax=$(numfmt --to=iec "${single#* }"), GOMEMLIMIT below"
fi

for f in "$tmp"/units/*.service; do
	name=$(basename "$f")
	case $name in
	*@.service) f=$tmp/units/${name%@.service}@example.service ;; # an instance of the template
	esac
	verify "$f"
	security "$f"
done
verify "$tmp/units-live/polybot.service"

if [ "$failed" -ne 0 ]; then
	echo "lint-unit: FAILED" >&2
	exit 1
fi
echo "lint-unit: all units pass"
