#!/bin/bash
# Kernel matrix: boot Debian's own kernels under qemu (software emulation) with a tiny busybox initramfs
# that runs the real kansokud (static build) with each hook flavour, drives an exec and an exit, and
# checks the events. Proves the CO-RE programs load, attach and fire on kernels other than the build's.
#   tests/kmatrix/run.sh [KERNEL-PACKAGE...]   default: Debian 12's 6.1 (linux-image-amd64) and newest 6.12
# Prints one RESULT line per kernel and flavour; exits non-zero if any failed or gave no result.
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
CACHE=${KMATRIX_CACHE:-/var/cache/kansoku-kmatrix}
TIMEOUT=${KMATRIX_TIMEOUT:-240}
mkdir -p "$CACHE" "$BUILD/kmatrix"

need() { command -v "$1" >/dev/null || { echo "kmatrix: $1 missing (tests/install-deps.sh kmatrix)"; exit 1; }; }
need qemu-system-x86_64
need busybox
need cpio

if [ $# -eq 0 ]; then
	apt-get update -qq >/dev/null 2>&1 || true
	k61=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-6\.1/ {print $2; exit}')
	k612=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' | awk '{print $1}' | sort -V | tail -1)
	set -- $k61 $k612
fi
[ $# -gt 0 ] || { echo "kmatrix: no kernel packages found (apt-get update?)"; exit 1; }

make -s "$BUILD/static/kansokud" "$BUILD/static/kansoku" || exit 1

# Returns the path of the kernel image for a package, downloading it once into the cache, with one small
# module of its own (dummy.ko, no dependencies) for the kernel-module-load sensor and rule.
fetch_kernel() {
	local pkg=$1 dir="$CACHE/$1" ko
	if [ ! -s "$dir/vmlinuz" ] || [ ! -s "$dir/dummy.ko" ]; then
		mkdir -p "$dir"
		(cd "$dir" && rm -f ./*.deb && apt-get download -qq "$pkg" >/dev/null 2>&1) || return 1
		# only the image and one module: the package is mostly modules, which the test does not need
		dpkg-deb --fsys-tarfile "$dir"/*.deb | tar -x -C "$dir" --wildcards './boot/vmlinuz-*' \
			'./lib/modules/*/kernel/drivers/net/dummy.ko*' || return 1
		mv "$dir"/boot/vmlinuz-* "$dir/vmlinuz" || return 1
		ko=$(find "$dir/lib/modules" -name 'dummy.ko*' | head -1)
		case $ko in *.xz) xz -dc "$ko" >"$dir/dummy.ko" ;; *.zst) zstd -qdc "$ko" >"$dir/dummy.ko" ;; *) cp "$ko" "$dir/dummy.ko" ;; esac
		basename "$(dirname "$(dirname "$(dirname "$(dirname "$ko")")")")" >"$dir/kver"
		rm -rf "$dir/boot" "$dir/lib" "$dir"/*.deb
	fi
	echo "$dir/vmlinuz"
}

initrd="$BUILD/kmatrix/initramfs.cpio.gz"
root=$(mktemp -d /tmp/kansoku-kmatrix.XXXXXX)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,etc}
cp "$(command -v busybox)" "$root/bin/busybox"
for a in sh mount mkdir cat echo poweroff uname sleep true grep kill seq ip nc nslookup timeout insmod rmmod; do
	ln -s busybox "$root/bin/$a"
done
cp "$BUILD/static/kansokud" "$BUILD/static/kansoku" "$root/"
cp tests/kmatrix/guest-init.sh "$root/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
chmod +x "$root/init"
status=0
kernels=()
for pkg in "$@"; do
	kernel=$(fetch_kernel "$pkg") || { echo "RESULT $pkg FAIL cannot download the kernel package"; status=1; continue; }
	kernels+=("$pkg=$kernel")
	# each kernel's own module, where the guest looks for it (/lib/modules/$(uname -r)/dummy.ko)
	kdir=$(dirname "$kernel")
	mkdir -p "$root/lib/modules/$(cat "$kdir/kver")"
	cp "$kdir/dummy.ko" "$root/lib/modules/$(cat "$kdir/kver")/"
done
(cd "$root" && find . -print0 | cpio --null -o -H newc --quiet | gzip -1) >"$initrd"

for pk in "${kernels[@]}"; do
	pkg=${pk%%=*} kernel=${pk#*=}
	log="$BUILD/kmatrix/$pkg.log"
	start=$(date +%s)
	timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1024 -smp 1 \
		-nographic -no-reboot -nodefaults -display none -monitor none \
		-kernel "$kernel" -initrd "$initrd" -serial file:"$log" \
		-append "console=ttyS0 quiet panic=-1" </dev/null >/dev/null 2>&1
	took=$(($(date +%s) - start))
	results=$(tr -d '\r' <"$log" | grep -E '^RESULT ' || true)
	if [ -z "$results" ]; then
		echo "RESULT $pkg FAIL no result after ${took}s (serial log: $log)"
		tail -20 "$log" | sed 's/^/  | /'
		status=1
		continue
	fi
	echo "$results" | sed "s/^RESULT /RESULT $pkg /"
	echo "  ($pkg: booted and tested in ${took}s)"
	grep -q ' FAIL' <<<"$results" && { tr -d '\r' <"$log" | grep -E '^(  \||kansokud)' | head -20; status=1; }
done
exit $status
