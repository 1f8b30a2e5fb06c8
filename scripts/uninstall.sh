#!/bin/sh
# Removes what scripts/install.sh installed: the binaries, the units and the
# examples. The config, the credentials and the state stay, unless --purge.
#
#   scripts/uninstall.sh [--purge]
#
# Takes the same PREFIX, DESTDIR, BINDIR, DATADIR, SYSCONFDIR and UNITDIR as
# install.sh, and LOCALSTATEDIR (/var) for --purge. Without DESTDIR, on a
# system running systemd, the services are stopped and disabled first.
#
# --purge also deletes $SYSCONFDIR/polybot (config, polybot.env and the
# credentials: the signing key!) and the state in $LOCALSTATEDIR/lib/polybot.
set -eu

purge=no
case "${1:-}" in
"") ;;
--purge) purge=yes ;;
-h | --help)
	sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	echo "uninstall.sh: unknown argument $1" >&2
	exit 2
	;;
esac

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
BINDIR=${BINDIR:-$PREFIX/bin}
DATADIR=${DATADIR:-$PREFIX/share}
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-/etc/systemd/system}
LOCALSTATEDIR=${LOCALSTATEDIR:-/var}

remove() {
	for f in "$@"; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			rm -rf -- "$f"
			echo "removed $f"
		fi
	done
}

systemd=no
if [ -z "$DESTDIR" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
	systemd=yes
	# Enabled accounts of the template: their symlinks name the instance.
	instances=$(find /etc/systemd/system -name 'polybot@?*.service' -type l 2>/dev/null |
		sed 's|.*/||' | sort -u)
	# shellcheck disable=SC2086 # one unit name a word
	systemctl disable --now polybot.service polysim.service $instances 2>/dev/null || true
	systemctl stop 'polybot@*.service' 2>/dev/null || true
fi

remove "$DESTDIR$BINDIR/polybot" "$DESTDIR$BINDIR/polysim" \
	"$DESTDIR$UNITDIR/polybot.service" "$DESTDIR$UNITDIR/polybot@.service" \
	"$DESTDIR$UNITDIR/polysim.service" \
	"$DESTDIR$DATADIR/polybot/live.conf.example" "$DESTDIR$DATADIR/polybot/polybot.example.yaml"
rmdir "$DESTDIR$DATADIR/polybot" 2>/dev/null || true

if [ "$purge" = yes ]; then
	# DynamicUser= keeps the state in $LOCALSTATEDIR/lib/private/polybot,
	# behind the $LOCALSTATEDIR/lib/polybot symlink.
	remove "$DESTDIR$SYSCONFDIR/polybot" \
		"$DESTDIR$LOCALSTATEDIR/lib/polybot" "$DESTDIR$LOCALSTATEDIR/lib/private/polybot"
else
	echo "kept $DESTDIR$SYSCONFDIR/polybot and $DESTDIR$LOCALSTATEDIR/lib/polybot (--purge deletes them)"
fi
# Drop-ins (polybot.service.d/, polybot@NAME.service.d/) are the admin's own
# files; say so rather than delete them.
for d in "$DESTDIR$UNITDIR"/polybot.service.d "$DESTDIR$UNITDIR"/polybot@*.service.d; do
	if [ -d "$d" ]; then
		echo "left drop-in directory $d"
	fi
done

if [ "$systemd" = yes ]; then
	systemctl daemon-reload
	systemctl reset-failed 'polybot*' 'polysim*' 2>/dev/null || true
fi
