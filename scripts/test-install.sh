#!/usr/bin/env bash
# Tests scripts/install.sh and scripts/uninstall.sh in a temporary DESTDIR,
# file by file. Builds nothing.
#
#   scripts/test-install.sh [BIN_DIR]
#
# BIN_DIR holds polybot (and optionally polysim); without it, dummy shell
# scripts stand in. EXAMPLE_CONFIG is passed on to install.sh (default:
# configs/polybot.example.yaml). A systemctl that records its calls is put
# first in PATH: with DESTDIR set, install.sh must never call it.
# Exits non-zero, naming the check, on the first failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
install_sh=$root/scripts/install.sh
uninstall_sh=$root/scripts/uninstall.sh
export EXAMPLE_CONFIG=${EXAMPLE_CONFIG:-$root/configs/polybot.example.yaml}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "test-install: FAIL: $*" >&2
	exit 1
}
pass() { echo "ok   $*"; }

[ -f "$EXAMPLE_CONFIG" ] || fail "example config $EXAMPLE_CONFIG not found (set EXAMPLE_CONFIG)"

if [ $# -ge 1 ]; then
	bin=$(cd "$1" && pwd)
	[ -f "$bin/polybot" ] || fail "$bin/polybot not found"
else
	bin=$tmp/bin
	mkdir -p "$bin"
	printf '#!/bin/sh\necho "polybot dummy 1"\n' >"$bin/polybot"
	printf '#!/bin/sh\necho "polysim dummy 1"\n' >"$bin/polysim"
	chmod 0700 "$bin/polybot" "$bin/polysim" # install must set 0755 itself
fi

mkdir -p "$tmp/fakebin"
cat >"$tmp/fakebin/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >>"$tmp/systemctl.calls"
exit 1
EOF
chmod 0755 "$tmp/fakebin/systemctl"
export PATH="$tmp/fakebin:$PATH"

# Settings the caller may have in the environment must not leak into the
# runs below.
unset PREFIX BINDIR DATADIR SYSCONFDIR UNITDIR LOCALSTATEDIR

# run_install DESTDIR [VAR=value...]: install.sh from a directory that is not
# the repository, so nothing relies on the working directory.
run_install() {
	local dest=$1
	shift
	(cd "$tmp" && env DESTDIR="$dest" "$@" "$install_sh" "$bin") >"$tmp/install.out" 2>&1 ||
		{
			cat "$tmp/install.out" >&2
			fail "install.sh exited non-zero (DESTDIR=$dest $*)"
		}
}
# run_uninstall DESTDIR [VAR=value...] [--purge]
run_uninstall() {
	local dest=$1 a
	local -a vars=() args=()
	shift
	for a in "$@"; do
		case $a in
		*=*) vars+=("$a") ;;
		*) args+=("$a") ;;
		esac
	done
	(cd "$tmp" && env DESTDIR="$dest" "${vars[@]}" "$uninstall_sh" "${args[@]}") >"$tmp/uninstall.out" 2>&1 ||
		{
			cat "$tmp/uninstall.out" >&2
			fail "uninstall.sh exited non-zero (DESTDIR=$dest $*)"
		}
}

# expect_file PATH MODE
expect_file() {
	[ -f "$1" ] || fail "$1 was not installed"
	local mode
	mode=$(stat -c %a "$1")
	[ "$mode" = "$2" ] || fail "$1 has mode $mode, want $2"
}
expect_dir() {
	[ -d "$1" ] || fail "$1 was not created"
	local mode
	mode=$(stat -c %a "$1")
	[ "$mode" = "$2" ] || fail "$1 has mode $mode, want $2"
}
# expect_line FILE LINE: FILE holds LINE exactly.
expect_line() {
	grep -qxF -- "$2" "$1" || fail "$1 lacks the line: $2 (has: $(grep -E "^${2%%=*}=" "$1" | head -n 1))"
}
# expect_rewrite SRC DST N: DST differs from SRC in exactly N lines.
expect_rewrite() {
	local n
	n=$(diff "$1" "$2" | grep -c '^>' || true)
	[ "$n" -eq "$3" ] || fail "$2 differs from $1 in $n lines, want $3: $(diff "$1" "$2" || true)"
}
# files DIR: every file and symlink under DIR, relative, sorted.
files() { (cd "$1" && find . \( -type f -o -type l \) | sort); }

deploy=$root/deploy

echo "== default install (PREFIX=/usr/local)"
d=$tmp/root
run_install "$d"
expect_file "$d/usr/local/bin/polybot" 755
cmp -s "$bin/polybot" "$d/usr/local/bin/polybot" || fail "installed polybot differs from $bin/polybot"
[ ! -e "$d/usr/local/bin/polysim" ] || fail "polysim installed though WITH_POLYSIM was not set"
[ ! -e "$d/etc/systemd/system/polysim.service" ] || fail "polysim.service installed though WITH_POLYSIM was not set"
for u in polybot.service polybot@.service; do
	expect_file "$d/etc/systemd/system/$u" 644
	expect_rewrite "$deploy/$u" "$d/etc/systemd/system/$u" 0
	# The memory limits that contain a leak (docs/performance.md#memory-limits).
	for key in MemoryHigh MemoryMax; do
		grep -qE "^$key=[0-9]+M$" "$d/etc/systemd/system/$u" || fail "installed $u sets no $key=<n>M"
	done
done
expect_file "$d/usr/local/share/polybot/live.conf.example" 644
expect_file "$d/usr/local/share/polybot/polybot.example.yaml" 644
expect_file "$d/etc/polybot/polybot.yaml" 644
# The installed config is the example with its placeholder leader replaced by a value that
# does not validate: polybot refuses to start until the operator writes a leader.
expect_rewrite "$EXAMPLE_CONFIG" "$d/etc/polybot/polybot.yaml" 1
grep -qF -- '- address: "0x<your leader'"'"'s funder address>"' "$d/etc/polybot/polybot.yaml" ||
	fail "installed config keeps the example's leader"
if [ -x "$root/bin/polybot" ]; then
	set +e
	"$root/bin/polybot" check-config --config "$d/etc/polybot/polybot.yaml" >"$tmp/check.out" 2>&1
	code=$?
	set -e
	[ "$code" = 78 ] && grep -q 'leaders\[0\].address' "$tmp/check.out" ||
		fail "check-config of the installed config: exit $code, want 78 naming leaders[0].address: $(cat "$tmp/check.out")"
fi
expect_dir "$d/etc/polybot" 755
expect_dir "$d/etc/polybot/credentials" 700
grep -q 'systemctl daemon-reload' "$tmp/install.out" || fail "install.sh did not print the next steps"
grep -q 'journalctl -u polybot -f' "$tmp/install.out" || fail "install.sh did not print how to follow the log"
pass "binaries 0755, units 0644 and unchanged, config 0644 naming no leader, credentials/ 0700, no polysim"
installed=$(files "$d")

echo "== second install over the first"
echo "# edited by the admin" >>"$d/etc/polybot/polybot.yaml"
cp "$d/etc/polybot/polybot.yaml" "$tmp/edited.yaml"
if [ $# -eq 0 ]; then
	printf '#!/bin/sh\necho "polybot dummy 2"\n' >"$bin/polybot"
fi
run_install "$d"
cmp -s "$tmp/edited.yaml" "$d/etc/polybot/polybot.yaml" || fail "second install overwrote the edited config"
grep -q 'kept existing' "$tmp/install.out" || fail "second install did not say it kept the config"
cmp -s "$bin/polybot" "$d/usr/local/bin/polybot" || fail "second install did not replace the binary"
expect_file "$d/usr/local/bin/polybot" 755
[ "$(files "$d")" = "$installed" ] || fail "second install changed the set of files: $(diff <(echo "$installed") <(files "$d") || true)"
pass "edited config kept, binary replaced, same files"

echo "== uninstall"
run_uninstall "$d"
kept=$'./etc/polybot/polybot.yaml'
[ "$(files "$d")" = "$kept" ] || fail "after uninstall, want only $kept, have: $(files "$d" | tr '\n' ' ')"
expect_dir "$d/etc/polybot/credentials" 700
pass "binaries, units and examples removed; config and credentials/ kept"

echo "== uninstall --purge"
mkdir -p "$d/var/lib/private/polybot" && echo state >"$d/var/lib/private/polybot/positions.json"
ln -s private/polybot "$d/var/lib/polybot"
run_uninstall "$d" --purge
[ -z "$(files "$d")" ] || fail "after uninstall --purge, files remain: $(files "$d" | tr '\n' ' ')"
[ ! -e "$d/etc/polybot" ] || fail "after uninstall --purge, $d/etc/polybot remains"
pass "config, credentials and state removed"

echo "== install with PREFIX=/opt/polybot SYSCONFDIR=/usr/local/etc"
d=$tmp/root2
run_install "$d" PREFIX=/opt/polybot SYSCONFDIR=/usr/local/etc
expect_file "$d/opt/polybot/bin/polybot" 755
u=$d/etc/systemd/system
expect_line "$u/polybot.service" "ExecStart=/opt/polybot/bin/polybot run --config /usr/local/etc/polybot/polybot.yaml"
expect_line "$u/polybot.service" "EnvironmentFile=-/usr/local/etc/polybot/polybot.env"
expect_rewrite "$deploy/polybot.service" "$u/polybot.service" 2
expect_line "$u/polybot@.service" "ExecStart=/opt/polybot/bin/polybot run --config /usr/local/etc/polybot/%i.yaml"
expect_rewrite "$deploy/polybot@.service" "$u/polybot@.service" 2
ex=$d/opt/polybot/share/polybot/live.conf.example
expect_line "$ex" "LoadCredential=polybot-key:/usr/local/etc/polybot/credentials/key"
expect_line "$ex" "LoadCredential=polybot-api:/usr/local/etc/polybot/credentials/api"
expect_file "$d/usr/local/etc/polybot/polybot.yaml" 644
expect_dir "$d/usr/local/etc/polybot/credentials" 700
pass "ExecStart=, EnvironmentFile= and LoadCredential= follow BINDIR and SYSCONFDIR"
run_uninstall "$d" PREFIX=/opt/polybot SYSCONFDIR=/usr/local/etc --purge
[ -z "$(files "$d")" ] || fail "uninstall with the same settings left: $(files "$d" | tr '\n' ' ')"
pass "uninstall with the same settings removes everything"

echo "== install with WITH_POLYSIM=1"
d=$tmp/root5
if [ -f "$bin/polysim" ]; then
	run_install "$d" WITH_POLYSIM=1
	expect_file "$d/usr/local/bin/polysim" 755
	expect_file "$d/etc/systemd/system/polysim.service" 644
	expect_line "$d/etc/systemd/system/polysim.service" \
		"ExecStart=/usr/local/bin/polysim --ws-port 8546 --http-port 8545 --leaders 3"
	pass "polysim and polysim.service installed when asked"
fi

echo "== install with WITH_POLYSIM=1 but without polysim"
mkdir -p "$tmp/onlybot"
cp -p "$bin/polybot" "$tmp/onlybot/polybot"
d=$tmp/root3
bin_saved=$bin
bin=$tmp/onlybot
if (cd "$tmp" && DESTDIR="$d" WITH_POLYSIM=1 "$install_sh" "$bin") >"$tmp/install.out" 2>&1; then
	fail "install.sh with WITH_POLYSIM=1 and no polysim succeeded"
fi
grep -q 'polysim not found' "$tmp/install.out" || fail "install.sh did not say polysim is missing: $(cat "$tmp/install.out")"
pass "WITH_POLYSIM=1 without polysim is refused"

echo "== install with no binary"
bin=$tmp/empty
mkdir -p "$bin"
if (cd "$tmp" && DESTDIR="$tmp/root4" "$install_sh" "$bin") >"$tmp/install.out" 2>&1; then
	fail "install.sh succeeded without a polybot binary"
fi
grep -q 'polybot not found' "$tmp/install.out" || fail "install.sh failed without saying why: $(cat "$tmp/install.out")"
[ ! -e "$tmp/root4" ] || fail "install.sh wrote files before failing"
bin=$bin_saved
pass "fails before writing anything, and says why"

[ ! -e "$tmp/systemctl.calls" ] || fail "systemctl was called with DESTDIR set: $(cat "$tmp/systemctl.calls")"
pass "systemctl never called"
echo "test-install: all checks pass"
