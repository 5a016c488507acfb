// SPDX-License-Identifier: GPL-2.0
/*
 * Socket iterators: the seed of every TCP/UDP socket that exists when the daemon starts, and the listings
 * the daemon reads later (bytes so far of live TCP connections; live UDP and TCP sockets, to reconcile its
 * model). Shared maps and helpers in net.bpf.h.
 */
#include "net.bpf.h"

char LICENSE[] SEC("license") = "GPL";

u32 ks_seed_pass = 0;  /* the socket seed runs twice, see ks_seed_socks */
u64 ks_seed_retry = 0; /* the socket whose seed record did not fit: the iterator shows it again */

/*
 * Seed: every TCP/UDP socket that exists when the daemon starts, with the first process (in pid order)
 * holding it. The kernel maps are filled here too, so closes of these sockets find their owners.
 */
SEC("iter/task_file")
int ks_seed_socks(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct ks_sock_owner no = {};
	struct ks_listen_key lk = {};
	struct socket *sock;
	struct ks_net *e;
	struct sock *sk = NULL, *bsk; /* plain copy for the map key, typed for the iterator's loads */
	u32 zero = 0;
	u16 family, proto;
	u64 key;
	u8 state;

	if (!file || !task || (BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return 0;
	sock = bpf_sock_from_file(file);
	if (!sock)
		return 0;
	bsk = sock->sk;
	if (!bsk)
		return 0;
	bpf_probe_read_kernel(&sk, sizeof(sk), &bsk); /* plain: the map key */
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	proto = BPF_CORE_READ(sk, sk_protocol);
	if ((family != AF_INET && family != AF_INET6) || (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return 0;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	key = (u64)sk;
	/* already seen through another process sharing it; not when this is the iterator's re-run of a record
	 * that did not fit in its buffer (the maps were filled on the first run) */
	if (key != ks_seed_retry && bpf_map_lookup_elem(&ks_socks, &key))
		return 0;
	no.tgid = task->tgid;
	no.start_ns = ks_task_start_ns(task->group_leader);
	no.uid = BPF_CORE_READ(task, real_cred, uid.val);
	no.loginuid = ks_task_loginuid(task);
	e = bpf_map_lookup_elem(&ks_exec_scratch, &zero); /* larger than any ks_net: reused as scratch */
	if (!e)
		return 0;
	__builtin_memset(e, 0, KS_NET_FIXED_SIZE);
	ks_net_tuple(e, sk, false);
	e->proto = (u8)proto;
	/* pass 0 takes the listeners, pass 1 the connections: then an accepted connection is recognised by
	 * its listener whatever the order the processes come in, and its bytes count right (no SYN of ours) */
	if ((proto == IPPROTO_UDP || state == TCP_LISTEN) != (ks_seed_pass == 0))
		return 0;
	if (proto == IPPROTO_UDP) {
		if (!e->sport || e->dport)
			return 0; /* only bound, unconnected UDP sockets are listeners */
		if (key != ks_seed_retry && bpf_map_lookup_elem(&ks_udp_bound, &key))
			return 0;
		no.listening = 1;
		bpf_map_update_elem(&ks_udp_bound, &key, &no, BPF_ANY);
	} else {
		if (state == TCP_LISTEN) {
			no.listening = 1;
			lk.netns = e->netns;
			lk.port = e->sport;
			bpf_map_update_elem(&ks_listeners, &lk, &no, BPF_NOEXIST);
		} else if (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT && state != TCP_SYN_SENT) {
			return 0;
		} else {
			lk.netns = e->netns;
			lk.port = e->sport;
			no.direction = bpf_map_lookup_elem(&ks_listeners, &lk) ? KS_DIR_IN : KS_DIR_OUT;
		}
		bpf_map_update_elem(&ks_socks, &key, &no, BPF_ANY);
	}
	ks_net_owner(e, &no);
	e->hdr.kind = KS_EV_NET;
	e->hdr.version = KS_WIRE_VERSION;
	e->hdr.size = KS_NET_FIXED_SIZE;
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	e->action = KS_NA_SEED;
	e->state = state;
	e->sock_id = ks_sock_id(key);
	/* -EOVERFLOW: the seq buffer is full; the kernel runs this program again on the same file */
	ks_seed_retry = bpf_seq_write(ctx->meta->seq, e, KS_NET_FIXED_SIZE) ? key : 0;
	return 0;
}

/* Bytes so far of every live TCP connection (for `kansoku conns`), from the kernel's counters. */
SEC("iter/tcp")
int ks_net_bytes_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct ks_conn_bytes out = {};
	struct ks_sock_owner *o;
	struct sock *sk = NULL;
	u64 key;
	u8 state;

	if (!skc)
		return 0;
	state = skc->skc_state;
	if (state != TCP_ESTABLISHED && state != TCP_CLOSE_WAIT && state != TCP_FIN_WAIT1 && state != TCP_FIN_WAIT2)
		return 0;
	bpf_probe_read_kernel(&sk, sizeof(sk), &skc);
	key = (u64)sk;
	o = bpf_map_lookup_elem(&ks_socks, &key);
	ks_tcp_bytes(sk, state, o ? o->direction : KS_DIR_UNKNOWN, &out.bytes_in, &out.bytes_out);
	out.sock_id = ks_sock_id(key);
	bpf_seq_write(ctx->meta->seq, &out, sizeof(out));
	return 0;
}

/* Bound UDP sockets that exist now: the daemon drops UDP listeners that are gone (UDP has no close hook). */
SEC("iter/udp")
int ks_net_udp_iter(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;
	struct sock *sk = NULL;
	u64 id;

	if (!udp || !udp->inet.sk.__sk_common.skc_num)
		return 0;
	bpf_probe_read_kernel(&sk, sizeof(sk), &udp);
	id = ks_sock_id((u64)sk);
	bpf_seq_write(ctx->meta->seq, &id, sizeof(id));
	return 0;
}

/* Every TCP socket that exists now, listeners included: the daemon ends model entries whose Close record
 * was lost (ring buffer full, a skipped transition). TIME_WAIT and request sockets are other objects. */
SEC("iter/tcp")
int ks_net_tcp_iter(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sock *sk = NULL;
	u64 id;
	u8 state;

	if (!skc)
		return 0;
	state = skc->skc_state;
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV || state == TCP_CLOSE)
		return 0;
	bpf_probe_read_kernel(&sk, sizeof(sk), &skc);
	id = ks_sock_id((u64)sk);
	bpf_seq_write(ctx->meta->seq, &id, sizeof(id));
	return 0;
}
