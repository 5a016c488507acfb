// SPDX-License-Identifier: GPL-2.0
/*
 * UDP: binds (a UDP "listener"), flows counted per (process, destination) window, and DNS queries with
 * their question, seen where a datagram reaches the device queue. Shared maps and helpers in net.bpf.h.
 */
#include "net.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the daemon between open and load. */
const volatile u64 ks_udp_window_ns = 60000000000ull; /* UDP repeats of a key are counted for this long */

struct ks_udp_key {
	u32 tgid;
	u16 dport;
	u8 family, _pad;
	u8 daddr[16];
};
struct ks_udp_val {
	u64 first_ns;
	u64 count;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ks_udp_key);
	__type(value, struct ks_udp_val);
} ks_udp_flows SEC(".maps");

/* bind() of a UDP socket to a port: a UDP "listener", owned by the caller. */
SEC("tracepoint/syscalls/sys_exit_bind")
int ks_net_bind(struct ks_net_sys_exit *ctx)
{
	struct ks_sock_owner no = {};
	struct pt_regs *regs;
	struct ks_net *e;
	struct sock *sk;
	u64 key;

	if (ctx->ret != 0)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	sk = ks_fd_sock((long)regs->di);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	key = (u64)sk;
	ks_owner_current(&no, false);
	no.since_ns = bpf_ktime_get_boot_ns();
	no.listening = 1;
	bpf_map_update_elem(&ks_udp_bound, &key, &no, BPF_ANY);
	e = ks_net_reserve();
	if (!e)
		return 0;
	ks_net_owner(e, &no);
	ks_net_tuple(e, sk, false);
	if (!e->sport) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	e->proto = IPPROTO_UDP;
	e->action = KS_NA_LISTEN;
	e->sock_id = ks_sock_id(key);
	ks_net_submit(e);
	return 0;
}

/*
 * UDP on transmit (net:net_dev_queue, every kernel has it): the first datagram of each (process,
 * destination) window is sent with the count of the previous window; DNS queries (to port 53) are sent each
 * with their question. A UDP datagram reaches the device queue from sendmsg itself, so the current task is
 * the sender. Anything that is not UDP returns after two loads.
 */
static __always_inline int ks_on_xmit(struct sk_buff *skb, struct sock *sk)
{
	struct ks_udp_key k = {};
	struct ks_udp_val *v, nv = {};
	struct udphdr uh;
	struct ks_net *e;
	unsigned char *head = BPF_CORE_READ(skb, head);
	u16 nh = BPF_CORE_READ(skb, network_header), th = BPF_CORE_READ(skb, transport_header);
	u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	u8 saddr[16] = {};
	u32 qlen;
	u64 now, prev = 0;
	int dns;

	if (bpf_probe_read_kernel(&uh, sizeof(uh), head + th))
		return 0;
	if (family == AF_INET) {
		k.family = 4;
		bpf_probe_read_kernel(saddr, 4, head + nh + 12);
		bpf_probe_read_kernel(k.daddr, 4, head + nh + 16);
	} else if (family == AF_INET6) {
		k.family = 6;
		bpf_probe_read_kernel(saddr, 16, head + nh + 8);
		bpf_probe_read_kernel(k.daddr, 16, head + nh + 24);
		if (ks_v4_mapped(k.daddr)) /* cannot be on the wire, but never mind */
			return 0;
	} else {
		return 0;
	}
	k.tgid = bpf_get_current_pid_tgid() >> 32;
	k.dport = bpf_ntohs(uh.dest);
	dns = k.dport == 53;
	now = bpf_ktime_get_boot_ns();
	v = bpf_map_lookup_elem(&ks_udp_flows, &k);
	if (v && now - v->first_ns < ks_udp_window_ns) {
		__sync_fetch_and_add(&v->count, 1);
		if (!dns)
			return 0;
	} else {
		prev = v ? v->count : 0;
		nv.first_ns = now;
		nv.count = 1;
		bpf_map_update_elem(&ks_udp_flows, &k, &nv, BPF_ANY);
	}

	if (dns) {
		e = bpf_ringbuf_reserve(&ks_rb_net, sizeof(*e), 0);
		if (!e) {
			ks_count_drop(KS_EV_NET);
			return 0;
		}
		__builtin_memset(e, 0, KS_NET_FIXED_SIZE);
		/* the question follows the 8-byte UDP and the 12-byte DNS headers */
		qlen = bpf_ntohs(uh.len);
		qlen = qlen > 20 ? qlen - 20 : 0;
		if (qlen > KS_DNS_NAME_MAX) {
			qlen = KS_DNS_NAME_MAX;
			e->nflags |= KS_NF_DNS_TRUNC;
		}
		if (qlen) {
			qlen = ks_clamp(qlen - 1, KS_DNS_NAME_MAX - 1) + 1; /* [1, max] in the register used */
			if (bpf_probe_read_kernel(e->dns, qlen, head + th + 20))
				qlen = 0;
		}
		e->dns_len = qlen;
		e->action = KS_NA_DNS;
		e->hdr.size = sizeof(*e);
	} else {
		e = ks_net_reserve();
		if (!e)
			return 0;
		e->action = KS_NA_UDP_FLOW;
		e->count = prev;
	}
	e->hdr.kind = KS_EV_NET;
	e->hdr.version = KS_WIRE_VERSION;
	e->hdr.ts_ns = now;
	e->hdr.pid = k.tgid;
	e->hdr.tid = (u32)bpf_get_current_pid_tgid();
	e->uid = (u32)bpf_get_current_uid_gid();
	e->loginuid = ks_task_loginuid((struct task_struct *)bpf_get_current_task());
	e->start_ns = ks_task_start_ns(BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), group_leader));
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	e->proto = IPPROTO_UDP;
	e->family = k.family;
	e->direction = KS_DIR_OUT;
	e->sport = bpf_ntohs(uh.source);
	e->dport = k.dport;
	__builtin_memcpy(e->saddr, saddr, 16);
	__builtin_memcpy(e->daddr, k.daddr, 16);
	e->sock_id = ks_sock_id((u64)sk);
	ks_net_submit(e);
	return 0;
}

SEC("tp_btf/net_dev_queue")
int BPF_PROG(ks_net_xmit_btf, struct sk_buff *skb)
{
	struct sock *sk = skb->sk; /* typed loads: the common (not UDP) case costs no helper call */

	if (!sk || sk->sk_protocol != IPPROTO_UDP)
		return 0;
	return ks_on_xmit((struct sk_buff *)ks_plain((struct sock **)&skb), (struct sock *)ks_plain(&sk));
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(ks_net_xmit_raw, struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	return ks_on_xmit(skb, sk);
}
