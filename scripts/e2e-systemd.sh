#!/usr/bin/env bash
# End-to-end test of polybot under a real systemd, in a throwaway VM.
#
#   scripts/e2e-systemd.sh            (make e2e-systemd; needs root)
#
# 1. Builds (once, cached in build/e2e/) a minimal Debian rootfs of the host's
#    release with systemd and a kernel: debootstrap into a directory (nothing
#    is booted or started there: a policy-rc.d denies every service start),
#    kept as build/e2e/base.tar with its vmlinuz and initrd.
# 2. Every run: make build, unpacks the base, installs polybot and polysim with
#    scripts/install.sh (DESTDIR=the rootfs) as a user would, writes the demo
#    config (configs/demo.yaml with leaders 1 and 2, state_dir unset) as
#    /etc/polybot/polybot.yaml, adds scripts/e2e/ (the scenario and the unit
#    that runs it after boot) and makes an ext4 image of it (mkfs.ext4 -d).
# 3. Boots it with qemu (KVM, -nic none: no network but loopback), with a hard
#    timeout. The guest runs scripts/e2e/scenario.sh, which reports each step
#    on its second serial port and dumps its journal on the third, then powers
#    off.
# 4. Prints a pass/fail table with durations; exits 1 if a step failed or the
#    VM did not finish.
#
# Without a usable KVM (/dev/kvm missing or unusable, or a probe boot shows
# that KVM cannot run the guest kernel, as under a nested kvm-pvm) the VM runs
# under TCG, qemu's software emulation: about 4 minutes on 2 cores. With
# E2E_ALLOW_TCG=0 it prints "SKIP: no KVM" and exits 0 instead. Settings, from the
# environment:
#   E2E_DIR         build/e2e     cache and output (last/: logs of the run)
#   E2E_SUITE       the host's VERSION_CODENAME (/etc/os-release)
#   E2E_MIRROR      http://deb.debian.org/debian
#   E2E_TIMEOUT     seconds the VM may run, boot to power-off: 600 (KVM),
#                   900 (TCG)
#   E2E_REBUILD     1: rebuild the cached base rootfs
#   E2E_NO_BUILD    1: do not run make build (use bin/ as it is)
#   E2E_ALLOW_TCG   1 (default): run under TCG when KVM is missing or cannot
#                   boot the guest kernel; 0: SKIP then
#   E2E_ACCEL       auto (default), kvm or tcg
#   E2E_MEM         1024          guest memory, MiB
#
# Safety: systemd runs only inside the VM, never in a chroot or namespace of
# this machine; this script never calls systemctl.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
E2E_DIR=${E2E_DIR:-$root/build/e2e}
E2E_SUITE=${E2E_SUITE:-$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")}
E2E_SUITE=${E2E_SUITE:-bookworm}
E2E_MIRROR=${E2E_MIRROR:-http://deb.debian.org/debian}
E2E_ALLOW_TCG=${E2E_ALLOW_TCG:-1}
E2E_MEM=${E2E_MEM:-1024}
# Bump when the recipe of the base rootfs changes: the cache is rebuilt.
BASE_RECIPE=3
PACKAGES=systemd,systemd-sysv,udev,kmod,libnss-systemd,initramfs-tools,linux-image-amd64,e2fsprogs,procps

L1=0x1000000000000000000000000000000000000001
L2=0x1000000000000000000000000000000000000002
L3=0x1000000000000000000000000000000000000003

t_script=$(date +%s.%N)
phase_start=$t_script
say() { echo "e2e-systemd: $*"; }
die() {
	echo "e2e-systemd: $*" >&2
	exit 1
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
phase() {
	say "$1 (${2:-$(since "$phase_start")} s)"
	phase_start=$(date +%s.%N)
}

# --- KVM first: without it, skip before any expensive work ------------------
# E2E_ACCEL: auto (KVM if it can boot the guest kernel, else TCG if
# E2E_ALLOW_TCG=1, the default, else SKIP), kvm, or tcg.
E2E_ACCEL=${E2E_ACCEL:-auto}
kvm_usable=no
if [ -e /dev/kvm ] && (: <>/dev/kvm) 2>/dev/null; then
	kvm_usable=yes
fi
case $E2E_ACCEL in
auto | kvm) ;;
tcg) E2E_ALLOW_TCG=1 ;;
*) die "E2E_ACCEL must be auto, kvm or tcg" ;;
esac
if [ "$kvm_usable" = no ] && [ "$E2E_ACCEL" != tcg ]; then
	if [ "${E2E_ALLOW_TCG:-}" = 1 ] && [ "$E2E_ACCEL" = auto ]; then
		E2E_ACCEL=tcg
	else
		echo "SKIP: no KVM (/dev/kvm missing or not usable by $(id -un)); E2E_ALLOW_TCG=1 runs it emulated (TCG)"
		exit 0
	fi
fi

[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, and files owned by root in the image): sudo make e2e-systemd"
[ "$(uname -m)" = x86_64 ] || die "x86_64 hosts only"

# --- host tools ----------------------------------------------------------------
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
command -v systemd-analyze >/dev/null || need+=(systemd)
if [ ${#need[@]} -gt 0 ]; then
	command -v apt-get >/dev/null || die "missing ${need[*]}; install them"
	say "installing ${need[*]}"
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; } ||
		die "could not install ${need[*]}"
fi
mkdir -p "$E2E_DIR"

# safe_rm DIR: removes a directory tree, unmounting anything left mounted under
# it (a debootstrap that died with /proc mounted) and never crossing into
# another file system.
safe_rm() {
	local d=$1 m
	[ -e "$d" ] || return 0
	d=$(cd "$d" && pwd -P)
	case $d in "$E2E_DIR"/*) ;; *) die "refusing to remove $d (outside $E2E_DIR)" ;; esac
	while read -r m; do
		if [ -n "$m" ]; then umount -l "$m" 2>/dev/null || true; fi
	done < <(awk -v d="$d" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf --one-file-system "$d"
}

# --- 1. the base rootfs (cached) ---------------------------------------------
base=$E2E_DIR/base.tar
key="recipe=$BASE_RECIPE suite=$E2E_SUITE packages=$PACKAGES"
if [ "${E2E_REBUILD:-}" != 1 ] && [ -f "$base" ] && [ -f "$E2E_DIR/vmlinuz" ] && [ -f "$E2E_DIR/initrd.img" ] &&
	[ "$(cat "$E2E_DIR/base.key" 2>/dev/null)" = "$key" ]; then
	phase "base rootfs: cached ($base)" 0.0
else
	say "base rootfs: debootstrap $E2E_SUITE from $E2E_MIRROR (a few minutes)"
	rm -f "$E2E_DIR/base.key"
	bs=$E2E_DIR/_debootstrap
	safe_rm "$bs"
	# Before debootstrap, so that they are in force while its packages are
	# configured: no service may start in the chroot, and the kernel's
	# initramfs holds just what boots from a virtio disk (MODULES=list is
	# also much faster to build than most).
	mkdir -p "$bs/usr/sbin" "$bs/etc/initramfs-tools/hooks" "$bs/etc/initramfs-tools/conf.d"
	printf '#!/bin/sh\n# e2e build: never start services in the chroot.\nexit 101\n' >"$bs/usr/sbin/policy-rc.d"
	chmod 0755 "$bs/usr/sbin/policy-rc.d"
	echo 'MODULES=list' >"$bs/etc/initramfs-tools/conf.d/e2e.conf"
	cat >"$bs/etc/initramfs-tools/hooks/e2e-virtio" <<'EOF'
#!/bin/sh
# The root file system of the polybot e2e VM: ext4 on virtio-blk.
PREREQ=""
prereqs() { echo "$PREREQ"; }
case $1 in prereqs) prereqs; exit 0 ;; esac
. /usr/share/initramfs-tools/hook-functions
for m in virtio_pci virtio_blk crc32c_generic ext4; do
	force_load "$m"
done
EOF
	chmod 0755 "$bs/etc/initramfs-tools/hooks/e2e-virtio"
	if ! debootstrap --variant=minbase --include="$PACKAGES" "$E2E_SUITE" "$bs" "$E2E_MIRROR" >"$E2E_DIR/debootstrap.log" 2>&1; then
		tail -n 20 "$E2E_DIR/debootstrap.log" >&2
		safe_rm "$bs"
		die "debootstrap failed; full log in $E2E_DIR/debootstrap.log"
	fi
	# The guest: no network but loopback, no login, nothing periodic.
	echo e2e >"$bs/etc/hostname"
	printf '127.0.0.1\tlocalhost\n127.0.1.1\te2e\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$bs/etc/hosts"
	printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t0\n' >"$bs/etc/fstab"
	for u in serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer \
		e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer; do
		ln -sf /dev/null "$bs/etc/systemd/system/$u"
	done
	rm -f "$bs/usr/sbin/policy-rc.d"
	rm -rf "$bs"/var/cache/apt/archives/*.deb "$bs"/var/lib/apt/lists/* "$bs"/tmp/* "$bs"/var/tmp/*
	k=$(ls "$bs"/boot/vmlinuz-* | sort -V | tail -n 1)
	i=$bs/boot/initrd.img-${k##*/vmlinuz-}
	[ -f "$k" ] && [ -f "$i" ] || die "no kernel or initrd in $bs/boot"
	cp "$k" "$E2E_DIR/vmlinuz"
	cp "$i" "$E2E_DIR/initrd.img"
	tar --numeric-owner --xattrs --xattrs-include='*' --one-file-system -C "$bs" -cpf "$base.tmp" .
	mv -f "$base.tmp" "$base"
	safe_rm "$bs"
	echo "$key" >"$E2E_DIR/base.key"
	phase "base rootfs: built ($(du -h "$base" | cut -f1), kernel ${k##*/})"
fi

# --- the accelerator: KVM if it boots the guest kernel --------------------
out=$E2E_DIR/last
rm -rf "$out"
mkdir -p "$out"
: >"$out/results.log"
: >"$out/journal.log"
# kvm_boots: whether the guest kernel gets going under KVM. /dev/kvm can be
# there and still unable to run a stock kernel: a nested hypervisor such as
# kvm-pvm (PVM) runs only kernels built for it, and the guest hangs right
# after the boot loader. A probe boot shows it within seconds.
kvm_boots() {
	local log=$out/kvm-probe.log pid i
	: >"$log"
	qemu-system-x86_64 -nodefaults -no-user-config -machine pc,accel=kvm -cpu host -smp 1 -m 256 \
		-display none -monitor none -nic none -no-reboot \
		-kernel "$E2E_DIR/vmlinuz" -append "console=ttyS0 earlyprintk=serial,ttyS0 panic=-1 init=/nonexistent" \
		-serial "file:$log" >"$out/kvm-probe.qemu.log" 2>&1 &
	pid=$!
	for i in $(seq 1 50); do
		if grep -q 'Linux version' "$log"; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null || true
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	return 1
}
accel=$E2E_ACCEL
if [ "$accel" != tcg ]; then
	if kvm_boots; then
		accel=kvm
	else
		why="KVM cannot boot a stock kernel here"
		[ -d /sys/module/kvm_pvm ] && why="$why (kvm-pvm: PVM runs only kernels built for it)"
		if [ "$E2E_ACCEL" = auto ] && [ "${E2E_ALLOW_TCG:-}" = 1 ]; then
			say "$why: software emulation (TCG) instead"
			accel=tcg
		else
			echo "SKIP: no KVM: $why; E2E_ALLOW_TCG=1 or E2E_ACCEL=tcg runs it emulated (TCG)"
			exit 0
		fi
	fi
fi
phase "accelerator: $accel"

# --- 2. polybot into a fresh copy, and the image -----------------------------
if [ "${E2E_NO_BUILD:-}" != 1 ]; then
	make -s build >/dev/null || die "make build failed"
	phase "make build"
fi
[ -x bin/polybot ] && [ -x bin/polysim ] || die "bin/polybot and bin/polysim needed: make build"

rootfs=$E2E_DIR/_rootfs # "_": go ./... patterns skip it
safe_rm "$rootfs"
mkdir -p "$rootfs"
tar --numeric-owner --xattrs --xattrs-include='*' -C "$rootfs" -xpf "$base"

# As a user would: scripts/install.sh, then the config.
DESTDIR=$rootfs WITH_POLYSIM=1 scripts/install.sh bin >"$E2E_DIR/install.log" 2>&1 ||
	{ cat "$E2E_DIR/install.log" >&2; die "scripts/install.sh failed"; }
# The demo config with leaders 1 and 2 only and state_dir unset (the default,
# /var/lib/polybot, is the unit's StateDirectory=).
cfg=$E2E_DIR/polybot.yaml
awk -v drop="$L3" '
	/^state_dir:/ { next }
	/^  - / { skip = (index($0, drop) > 0) }
	/^[^ ]/ { skip = 0 }
	!skip { print }
' configs/demo.yaml >"$cfg"
grep -q "$L1" "$cfg" && grep -q "$L2" "$cfg" && ! grep -q "$L3" "$cfg" && ! grep -q '^state_dir:' "$cfg" &&
	grep -q 'rpc_url: ws://127.0.0.1:8546' "$cfg" && grep -q 'chain_id: 1337' "$cfg" && grep -q '^mode: paper' "$cfg" ||
	die "configs/demo.yaml changed shape: the e2e config is not leaders 1 and 2, paper, polysim ($cfg)"
bin/polybot check-config --config "$cfg" >"$E2E_DIR/check-config.log" 2>&1 ||
	{ cat "$E2E_DIR/check-config.log" >&2; die "the e2e config fails check-config"; }
install -m 0644 "$cfg" "$rootfs/etc/polybot/polybot.yaml"

# The scenario, the unit that runs it, and the host's offline exposure score.
e2e_lib=$rootfs/usr/local/lib/polybot-e2e
install -d -m 0755 "$e2e_lib"
install -m 0755 scripts/e2e/scenario.sh "$e2e_lib/scenario.sh"
install -m 0644 scripts/e2e/polybot-e2e.service "$rootfs/etc/systemd/system/polybot-e2e.service"
mkdir -p "$rootfs/etc/systemd/system/multi-user.target.wants"
ln -sf ../polybot-e2e.service "$rootfs/etc/systemd/system/multi-user.target.wants/polybot-e2e.service"
host_exposure=$(systemd-analyze security --offline=true --no-pager deploy/polybot.service 2>&1 |
	sed -nE 's/.*Overall exposure level for .*: ([0-9.]+).*/\1/p')
[ -n "$host_exposure" ] || die "systemd-analyze security --offline=true deploy/polybot.service gave no score"
echo "$host_exposure" >"$e2e_lib/host-exposure"

img=$E2E_DIR/root.img
rm -f "$img"
mkfs.ext4 -q -F -L e2e-root -d "$rootfs" "$img" 3G >"$E2E_DIR/mkfs.log" 2>&1 ||
	{ cat "$E2E_DIR/mkfs.log" >&2; die "mkfs.ext4 -d failed"; }
safe_rm "$rootfs"
phase "image: polybot $(bin/polybot version 2>/dev/null | head -n 1) installed, $img"

# --- 3. boot ----------------------------------------------------------------
cpu=(-cpu host)
[ "$accel" = kvm ] || cpu=(-cpu max)
[ "$accel" = kvm ] && E2E_TIMEOUT=${E2E_TIMEOUT:-600} || E2E_TIMEOUT=${E2E_TIMEOUT:-900}
say "booting the VM ($accel, timeout ${E2E_TIMEOUT}s); guest console: $out/console.log"
qrc=0
timeout -k 10 "$E2E_TIMEOUT" qemu-system-x86_64 \
	-nodefaults -no-user-config -machine "pc,accel=$accel" "${cpu[@]}" -smp 2 -m "$E2E_MEM" \
	-display none -monitor none -nic none -no-reboot \
	-kernel "$E2E_DIR/vmlinuz" -initrd "$E2E_DIR/initrd.img" \
	-append "root=/dev/vda rootfstype=ext4 rw console=ttyS0 panic=-1 loglevel=4 systemd.show_status=auto" \
	-drive "file=$img,format=raw,if=virtio,cache=unsafe" \
	-serial "file:$out/console.log" -serial "file:$out/results.log" -serial "file:$out/journal.log" \
	>"$out/qemu.log" 2>&1 || qrc=$?
if [ "$qrc" -ne 0 ] && [ "$accel" = kvm ] && grep -qiE 'kvm.*(fail|not|error)|could not access kvm' "$out/qemu.log" &&
	! grep -q . "$out/results.log"; then
	cat "$out/qemu.log"
	echo "SKIP: no KVM (qemu could not use it)"
	exit 0
fi
vm_secs=$(since "$phase_start")
phase "VM run: qemu exit $qrc" "$vm_secs"
rm -f "$img" # 3 GB sparse; rebuilt each run

# --- 4. results -------------------------------------------------------------
tr -d '\r' <"$out/results.log" >"$out/results.txt"
tr -d '\r' <"$out/journal.log" >"$out/journal.txt" && rm -f "$out/journal.log"
echo
printf '%-4s %-62s %-5s %8s\n' step "" "" seconds
failed=0
steps=0
while IFS='|' read -r kind n name status secs msg; do
	[ "$kind" = RESULT ] || continue
	steps=$((steps + 1))
	printf '%-4s %-62s %-5s %8s\n' "$n" "$name" "$status" "$secs"
	[ -z "$msg" ] || fold -s -w 96 <<<"$msg" | sed 's/^/       /'
	[ "$status" = PASS ] || failed=$((failed + 1))
done <"$out/results.txt"
echo
if [ "$failed" -gt 0 ]; then
	echo "details of the failed steps:"
	awk -F'|' '$1 == "RESULT" && $4 != "PASS" { bad[$2] = 1 } { lines[NR] = $0 }
		END { for (i = 1; i <= NR; i++) { split(lines[i], f, "|"); if (f[1] == "DETAIL" && bad[f[2]]) print "  [" f[2] "] " substr(lines[i], length(f[1] f[2]) + 3) } }' "$out/results.txt"
	echo
fi
total=$(since "$t_script")
if ! grep -q '^END|' "$out/results.txt"; then
	echo "the scenario did not finish (qemu exit $qrc; 124 is the ${E2E_TIMEOUT} s timeout). Last console lines:"
	tr -d '\r' <"$out/console.log" | tail -n 30 | sed 's/^/  | /'
	say "FAILED after $total s; logs in $out"
	exit 1
fi
if [ "$steps" -ne 8 ] || [ "$failed" -gt 0 ]; then
	say "FAILED: $failed of $steps steps failed (8 expected); VM $vm_secs s, total $total s; logs in $out (results.txt, journal.txt, console.log)"
	exit 1
fi
say "PASS: all $steps steps; VM $vm_secs s, total $total s; logs in $out"
