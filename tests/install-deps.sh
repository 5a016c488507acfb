#!/bin/sh
# Installs what kansoku needs to build, run and test (qemu and busybox: the kernel-matrix test; rsyslog
# and nginx: the receivers of the output tests), from Debian 12's own packages. Idempotent.
set -eu
PKGS="make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev libdeflate-dev libjson-c-dev libyaml-dev pkg-config
libcmocka-dev libpcre2-dev libcurl4-openssl-dev libssl-dev librelp-dev python3 python3-pytest util-linux procps iproute2
rsyslog rsyslog-relp rsyslog-openssl openssl nginx-light
qemu-system-x86 busybox-static cpio"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# the tests start their own nginx on loopback ports: the packaged service is not needed on port 80
	case $missing in *nginx-light*) systemctl disable --now nginx >/dev/null 2>&1 || service nginx stop >/dev/null 2>&1 || true ;; esac
fi
