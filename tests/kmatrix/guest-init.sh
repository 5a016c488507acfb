#!/bin/sh
# /init of the kernel-matrix guest: runs kansokud with each hook flavour and checks its events.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
ip link set lo up
kver=$(uname -r)
echo "=== guest up: $kver"

check() { # flavour
	h=$1
	ev=/tmp/events-$h.json
	cat >/tmp/k.yaml <<CFG
state_dir: /tmp/state-$h
socket: /run/ctl.sock
ringbuf:
  poll_ms: 20
process:
  hooks: $h
files:
  aggregate_window_ms: 500
  watch:
    - /tmp/kw
    - /tmp/kh/*/.ssh
outputs:
  - type: file
    path: $ev
CFG
	/kansokud --config /tmp/k.yaml 2>/tmp/log-$h &
	pid=$!
	up=
	for i in $(seq 600); do
		/kansoku --socket /run/ctl.sock status >/dev/null 2>&1 && up=1 && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$up" ]; then
		echo "RESULT $h FAIL daemon did not start"
		sed 's/^/  | /' /tmp/log-$h
		return 1
	fi
	/bin/true "kmatrix-$h"
	sh -c 'exit 7'
	mkdir -p /tmp/kw
	echo data >/tmp/kw/file-$h
	cat /tmp/kw/file-$h >/dev/null
	cat /tmp/kw/missing-$h 2>/dev/null
	cat /tmp/kx/../kw/dotted-$h 2>/dev/null # a ".." component: found in the kernel, folded in user space
	mkdir -p /tmp/kh/user-$h/.ssh
	echo key >/tmp/kh/user-$h/.ssh/authorized_keys
	# network: a TCP listener, a connection to it with data, a refused connect, a DNS query
	timeout 5 nc -l -p 4444 >/tmp/nc-$h.out &
	sleep 0.3
	echo "hello-$h" | timeout 5 nc 127.0.0.1 4444
	timeout 3 nc 127.0.0.1 4445 </dev/null
	timeout 3 nslookup kmatrix-$h.invalid 127.0.0.1 >/dev/null 2>&1
	# a kernel module loaded (init_module from busybox's insmod): the security sensor and rule KS-PERSIST-013
	insmod /lib/modules/$kver/dummy.ko && rmmod dummy
	sleep 1.5
	st=$(/kansoku --socket /run/ctl.sock status --json)
	kill -TERM $pid
	wait $pid
	rc=$?
	why=
	echo "$st" | grep -qE "\"hook_flavour\": ?\"$h\"" || why="$why flavour-not-$h"
	echo "$st" | grep -qE "\"kernel_drops\": ?0" || why="$why kernel-drops"
	grep -F "\"args\":[\"/bin/true\",\"kmatrix-$h\"]" $ev | grep -q '"path":"/bin/busybox"' || why="$why no-launch-with-path"
	grep -q '"activity_name":"Terminate".*"exit_code":7,' $ev || why="$why no-exit-code-7"
	grep -q '"activity_name":"Stop"' $ev || why="$why no-stop-event"
	grep '"class_uid":1001' $ev | grep '"activity_name":"Create"' | grep -q "\"path\":\"/tmp/kw/file-$h\"" || why="$why no-file-create"
	grep '"class_uid":1001' $ev | grep '"status_detail":"ENOENT"' | grep -q "missing-$h" || why="$why no-file-enoent"
	grep '"class_uid":1001' $ev | grep -q "\"path\":\"/tmp/kh/user-$h/.ssh/authorized_keys\"" || why="$why no-wildcard-match"
	grep '"class_uid":1001' $ev | grep "\"path\":\"/tmp/kw/dotted-$h\"" | grep -q "\"path_as_given\":\"/tmp/kx/../kw/dotted-$h\"" ||
		why="$why no-dotdot-fold"
	echo "$st" | grep -qE '"enabled": ?true' || why="$why files-off"
	echo "$st" | tr -d '\n ' | grep -q '"network":{"enabled":true' || why="$why network-off"
	grep '"class_uid":4001' $ev | grep '"activity_name":"Listen"' | grep -q '"port":4444}' || why="$why no-listen"
	grep '"class_uid":4001' $ev | grep '"activity_name":"Open"' | grep -q '"port":4444}' || why="$why no-tcp-open"
	grep '"class_uid":4001' $ev | grep '"activity_name":"Close"' | grep '"port":4444}' | grep -q '"bytes_out":'"$(( ${#h} + 7 ))" ||
		why="$why no-close-with-bytes"
	grep '"class_uid":4001' $ev | grep -q '"activity_name":"Refuse"' || why="$why no-refuse"
	grep '"class_uid":4003' $ev | grep -q "\"hostname\":\"kmatrix-$h.invalid\"" || why="$why no-dns"
	grep '"class_uid":1002' $ev | grep -q '"activity_name":"Load"' || why="$why no-module-load"
	grep '"class_uid":2004' $ev | grep -q '"uid":"KS-PERSIST-013"' || why="$why no-module-load-finding"
	[ $rc = 0 ] || why="$why daemon-exit-$rc"
	if [ -n "$why" ]; then
		echo "RESULT $h FAIL$why"
		sed 's/^/  | /' /tmp/log-$h
		return 1
	fi
	echo "RESULT $h OK ($(grep -c . $ev) events)"
}

check tp_btf
check raw_tp
echo "=== done"
poweroff -f
