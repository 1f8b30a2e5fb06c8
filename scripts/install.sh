#!/bin/sh
# Installs polybot (and polysim, when built) with its systemd units.
#
#   scripts/install.sh [BUILD_DIR]        BUILD_DIR defaults to ./bin
#
# Run from the repository root, as root for a real install. Settings, from
# the environment:
#   PREFIX          /usr/local
#   DESTDIR         empty; set it to stage the install into a directory
#                   (packaging, tests). systemctl is never called then.
#   BINDIR          $PREFIX/bin
#   DATADIR         $PREFIX/share (examples go to $DATADIR/polybot)
#   SYSCONFDIR      /etc (the config goes to $SYSCONFDIR/polybot)
#   UNITDIR         /etc/systemd/system, the one unit directory every systemd
#                   searches whatever PREFIX is; $PREFIX/lib/systemd/system is
#                   searched only for /usr and /usr/local. Packagers who
#                   install to /usr set UNITDIR=/usr/lib/systemd/system.
#   EXAMPLE_CONFIG  configs/polybot.example.yaml of this repository
#   WITH_POLYSIM    1 to install polysim (the local simulator) and its unit
#                   too; a server that trades needs neither, so by default
#                   they are left out.
#
# The units name /usr/local/bin and /etc/polybot; both are rewritten to
# BINDIR and SYSCONFDIR. An existing $SYSCONFDIR/polybot/polybot.yaml is
# never overwritten. The service is neither enabled nor (re)started: the
# next steps are printed at the end.
set -eu

usage() {
	sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'
}

case "${1:-}" in
-h | --help)
	usage
	exit 0
	;;
-*)
	echo "install.sh: unknown option $1" >&2
	exit 2
	;;
esac

BUILD_DIR=${1:-bin}
PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
DATADIR=${DATADIR:-$PREFIX/share}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXAMPLE_CONFIG=${EXAMPLE_CONFIG:-$ROOT/configs/polybot.example.yaml}
DEPLOY_DIR=$ROOT/deploy

die() {
	echo "install.sh: $*" >&2
	exit 1
}

[ -f "$BUILD_DIR/polybot" ] || die "$BUILD_DIR/polybot not found: run make build first, or pass the build directory"
[ -f "$EXAMPLE_CONFIG" ] || die "example config $EXAMPLE_CONFIG not found (set EXAMPLE_CONFIG)"
for f in polybot.service polybot@.service polysim.service polybot.service.d/live.conf.example; do
	[ -f "$DEPLOY_DIR/$f" ] || die "$DEPLOY_DIR/$f not found"
done
for d in "$BINDIR" "$DATADIR" "$SYSCONFDIR" "$UNITDIR"; do
	case $d in
	/*) ;;
	*) die "$d is not an absolute path" ;;
	esac
done

# sed_escape quotes a replacement string for s|…|…|.
sed_escape() {
	printf '%s' "$1" | sed 's/[\\|&]/\\&/g'
}
bindir_re=$(sed_escape "$BINDIR")
sysconf_re=$(sed_escape "$SYSCONFDIR")

# install_unit SRC DST: the unit with ExecStart= pointing into BINDIR and
# /etc/polybot moved to SYSCONFDIR (comments are left alone).
install_unit() {
	tmp="$2.tmp.$$"
	sed -e "s|^ExecStart=/usr/local/bin/|ExecStart=$bindir_re/|" \
		-e "/^#/!s|/etc/polybot|$sysconf_re/polybot|g" "$1" >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$2"
	echo "installed $2"
}

install -d -m 0755 "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$DATADIR/polybot" "$DESTDIR$SYSCONFDIR/polybot"

install -m 0755 "$BUILD_DIR/polybot" "$DESTDIR$BINDIR/polybot"
echo "installed $DESTDIR$BINDIR/polybot"
polysim=no
if [ "${WITH_POLYSIM:-0}" = 1 ]; then
	[ -f "$BUILD_DIR/polysim" ] || die "WITH_POLYSIM=1 but $BUILD_DIR/polysim not found: run make build first"
	install -m 0755 "$BUILD_DIR/polysim" "$DESTDIR$BINDIR/polysim"
	echo "installed $DESTDIR$BINDIR/polysim"
	polysim=yes
fi

install_unit "$DEPLOY_DIR/polybot.service" "$DESTDIR$UNITDIR/polybot.service"
install_unit "$DEPLOY_DIR/polybot@.service" "$DESTDIR$UNITDIR/polybot@.service"
if [ "$polysim" = yes ]; then
	install_unit "$DEPLOY_DIR/polysim.service" "$DESTDIR$UNITDIR/polysim.service"
fi
install_unit "$DEPLOY_DIR/polybot.service.d/live.conf.example" "$DESTDIR$DATADIR/polybot/live.conf.example"
install -m 0644 "$EXAMPLE_CONFIG" "$DESTDIR$DATADIR/polybot/polybot.example.yaml"
echo "installed $DESTDIR$DATADIR/polybot/polybot.example.yaml"

# The config holds no secrets (they go in credentials/ or polybot.env) and
# must be readable by the service's dynamic user: 0644.
config=$DESTDIR$SYSCONFDIR/polybot/polybot.yaml
if [ -e "$config" ]; then
	echo "kept existing $config (compare with $DATADIR/polybot/polybot.example.yaml)"
else
	# The example's leader is a placeholder that validates; installed as is, polybot would
	# start and watch a wallet nobody chose. The installed copy names no leader until the
	# operator writes one: polybot refuses to start on it (exit 78, naming leaders[0].address).
	tmp="$config.tmp.$$"
	sed -e "s|^\(  - address: \)0x1000000000000000000000000000000000000001.*\$|\1\"0x<your leader's funder address>\" # required: a leader's proxy, Safe or deposit wallet|" \
		"$EXAMPLE_CONFIG" >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$config"
	echo "installed $config (write your leaders in it: it names none yet)"
fi
install -d -m 0700 "$DESTDIR$SYSCONFDIR/polybot/credentials"
chmod 0700 "$DESTDIR$SYSCONFDIR/polybot/credentials"
echo "installed $DESTDIR$SYSCONFDIR/polybot/credentials/ (mode 0700)"

reloaded=no
if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	reloaded=yes
fi

cat <<EOF

Next steps:
  1. Edit $SYSCONFDIR/polybot/polybot.yaml (leaders, chain.rpc_url), then check it:
       $BINDIR/polybot check-config --config $SYSCONFDIR/polybot/polybot.yaml
     Secrets do not go in that file. An RPC URL with an API key goes in
     $SYSCONFDIR/polybot/polybot.env (mode 0600): POLYBOT_CHAIN_RPC_URL=wss://...
  2. Live mode only: put the key and API credentials in
     $SYSCONFDIR/polybot/credentials/key and .../api (mode 0600), and install
     $DATADIR/polybot/live.conf.example as
     $UNITDIR/polybot.service.d/live.conf
EOF
if [ "$reloaded" = no ]; then
	echo "  3. systemctl daemon-reload"
else
	echo "  3. (systemctl daemon-reload: done)"
fi
cat <<EOF
  4. systemctl enable --now polybot
  5. journalctl -u polybot -f
On an upgrade, the running daemon keeps the old binary until
  systemctl restart polybot
EOF
