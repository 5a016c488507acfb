/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Network observation, shared by its three objects: net_tcp.bpf.c (the TCP state machine and accept()),
 * net_udp.bpf.c (UDP binds, flows and DNS queries on transmit) and net_iter.bpf.c (the socket seed at start
 * and the iterators the daemon reads: bytes so far, live UDP and TCP sockets). All three are linked into
 * the one skeleton (`bpftool gen object`): the maps below are __weak with identical definitions in each
 * object, and the daemon's settings are defined once, in net_tcp.bpf.c, and declared extern here.
 *
 * TCP follows the socket's own state machine (sock:inet_sock_set_state, a plain tracepoint that costs a
 * few loads per transition): CLOSE->SYN_SENT and CLOSE->LISTEN run in the calling process, so that is
 * where a socket gets its owner; later transitions run in softirq and take the owner from ks_socks. An
 * inbound connection is owned by its listener's owner until accept() names the acceptor. Only transitions
 * a user reads are sent: established, failed, closed, listen, unlisten. UDP and DNS are seen where a
 * datagram reaches the device queue (net:net_dev_queue, in the sender, with the payload at hand); repeats
 * of a (process, destination) are counted in the kernel. UDP binds are taken at bind()'s exit.
 */
#ifndef KS_NET_BPF_H
#define KS_NET_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Set by the daemon between open and load; defined in net_tcp.bpf.c. */
extern const volatile u64 ks_sock_key;         /* random: socket ids do not reveal kernel addresses */
extern const volatile u64 ks_net_wakeup_bytes; /* see ks_rb_wakeup_flags */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ks_rb_net SEC(".maps") __weak;

/* Owner of every TCP socket between its first owned transition and CLOSE, keyed by the socket. (Socket
 * storage, BPF_MAP_TYPE_SK_STORAGE, was measured instead and cost more: see ks_on_state.) */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, struct ks_sock_owner);
} ks_socks SEC(".maps") __weak;

/* TCP listeners by (netns, port): an inbound connection finds its listener's owner here. */
struct ks_listen_key {
	u32 netns;
	u16 port;
	u16 _pad;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct ks_listen_key);
	__type(value, struct ks_sock_owner);
} ks_listeners SEC(".maps") __weak;

/* UDP sockets bound to a port, by socket: a socket shared by several processes is seeded once. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, u64);
	__type(value, struct ks_sock_owner);
} ks_udp_bound SEC(".maps") __weak;

/* The exit of a syscall (accept, bind): its return value. */
struct ks_net_sys_exit {
	struct trace_entry ent;
	int nr;
	long ret;
};

/* A keyed bijection of the socket address: stable per socket, meaningless outside this daemon run. */
static __always_inline u64 ks_sock_id(u64 sk)
{
	u64 x = (sk ^ ks_sock_key) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

/* A field of a socket or task: a plain load where p is a BTF pointer (direct), else a probe read. */
#define KS_READ(direct, p, field) ((direct) ? (p)->field : BPF_CORE_READ(p, field))

/* A zeroed record of the fixed size stamped ts, or NULL (and the drop counted). */
static __always_inline struct ks_net *ks_net_reserve_at(u64 ts)
{
	struct ks_net *e = bpf_ringbuf_reserve(&ks_rb_net, KS_NET_FIXED_SIZE, 0);

	if (!e) {
		ks_count_drop(KS_EV_NET);
		return NULL;
	}
	__builtin_memset(e, 0, KS_NET_FIXED_SIZE);
	e->hdr.kind = KS_EV_NET;
	e->hdr.version = KS_WIRE_VERSION;
	e->hdr.size = KS_NET_FIXED_SIZE;
	e->hdr.ts_ns = ts;
	return e;
}

/* The same, stamped now. */
static __always_inline struct ks_net *ks_net_reserve(void)
{
	return ks_net_reserve_at(bpf_ktime_get_boot_ns());
}

/* direct: a tracing program, which may load from the BTF task pointer instead of calling probe reads */
static __always_inline void ks_owner_current(struct ks_sock_owner *o, bool direct)
{
	struct task_struct *task = direct ? bpf_get_current_task_btf() : (struct task_struct *)bpf_get_current_task();

	o->tgid = bpf_get_current_pid_tgid() >> 32;
	o->start_ns =
	    direct ? ks_task_start_ns_btf(task->group_leader) : ks_task_start_ns(BPF_CORE_READ(task, group_leader));
	o->uid = (u32)bpf_get_current_uid_gid();
	o->loginuid = direct ? ks_task_loginuid_btf(task) : ks_task_loginuid(task);
}

static __always_inline void ks_net_owner(struct ks_net *e, const struct ks_sock_owner *o)
{
	if (!o) {
		e->nflags |= KS_NF_NO_OWNER;
		e->uid = e->loginuid = KS_NO_ID;
		return;
	}
	e->hdr.pid = o->tgid;
	e->start_ns = o->start_ns;
	e->uid = o->uid;
	e->loginuid = o->loginuid;
	e->lpid = o->lpid;
	e->lstart_ns = o->lstart_ns;
	e->direction = o->direction;
	e->since_ns = o->since_ns;
}

static __always_inline int ks_v4_mapped(const u8 *a)
{
	const u32 *w = (const u32 *)a;

	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff);
}

/* The head of the socket's common part: both IPv4 addresses, both ports, the family. */
struct ks_sk_head {
	u32 daddr, saddr;
	u16 dport, num, family;
};

/* Copy the field f of struct sock_common, at its offset in the running kernel (CO-RE), from buf, which
 * holds the common part from its skc_daddr on. */
#define KS_HEAD_FIELD(dst, buf, base, sk, f) \
	__builtin_memcpy(&(dst), &(buf)[bpf_core_field_offset((sk)->__sk_common.f) - (base)], sizeof(dst))

/*
 * The head through a plain pointer: one probe read for the five fields instead of one each, where they lie
 * within 24 bytes of each other, as they have in every kernel (the offsets are the running kernel's, so the
 * test is decided at load time); else field by field.
 */
static __always_inline void ks_sk_head_probe(struct sock *sk, struct ks_sk_head *h)
{
	u32 base = bpf_core_field_offset(sk->__sk_common.skc_daddr);
	u32 span = bpf_core_field_offset(sk->__sk_common.skc_family) + sizeof(h->family) - base;
	u8 buf[24] = {};

	if (span > sizeof(buf) || bpf_core_field_offset(sk->__sk_common.skc_rcv_saddr) < base ||
	    bpf_core_field_offset(sk->__sk_common.skc_dport) < base ||
	    bpf_core_field_offset(sk->__sk_common.skc_num) < base) {
		h->daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		h->saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		h->dport = BPF_CORE_READ(sk, __sk_common.skc_dport);
		h->num = BPF_CORE_READ(sk, __sk_common.skc_num);
		h->family = BPF_CORE_READ(sk, __sk_common.skc_family);
		return;
	}
	bpf_probe_read_kernel(buf, span, (void *)sk + base);
	KS_HEAD_FIELD(h->daddr, buf, base, sk, skc_daddr);
	KS_HEAD_FIELD(h->saddr, buf, base, sk, skc_rcv_saddr);
	KS_HEAD_FIELD(h->dport, buf, base, sk, skc_dport);
	KS_HEAD_FIELD(h->num, buf, base, sk, skc_num);
	KS_HEAD_FIELD(h->family, buf, base, sk, skc_family);
}

static __always_inline void ks_sk_head(struct sock *sk, struct ks_sk_head *h, bool direct)
{
	if (!direct) {
		ks_sk_head_probe(sk, h);
		return;
	}
	h->daddr = sk->__sk_common.skc_daddr;
	h->saddr = sk->__sk_common.skc_rcv_saddr;
	h->dport = sk->__sk_common.skc_dport;
	h->num = sk->__sk_common.skc_num;
	h->family = sk->__sk_common.skc_family;
}

/* Addresses, ports and namespace from the socket's common part (direct: sk is a BTF pointer). */
static __always_inline void ks_net_tuple(struct ks_net *e, struct sock *sk, bool direct)
{
	struct ks_sk_head h;

	ks_sk_head(sk, &h, direct);
	e->proto = IPPROTO_TCP;
	e->sport = h.num;
	e->dport = bpf_ntohs(h.dport);
	e->netns = direct ? sk->__sk_common.skc_net.net->ns.inum : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (h.family == AF_INET) {
		e->family = 4;
		*(u32 *)e->saddr = h.saddr;
		*(u32 *)e->daddr = h.daddr;
		return;
	}
	e->family = 6;
	if (direct) {
		__builtin_memcpy(e->saddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(e->daddr, &sk->__sk_common.skc_v6_daddr, 16);
	} else {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
	}
	if (ks_v4_mapped(e->daddr) && (ks_v4_mapped(e->saddr) || !((u32 *)e->saddr)[3])) {
		/* an IPv4 peer of a dual-stack socket: shown as IPv4 */
		e->family = 4;
		__builtin_memcpy(e->saddr, &e->saddr[12], 4);
		__builtin_memcpy(e->daddr, &e->daddr[12], 4);
		__builtin_memset(&e->saddr[4], 0, 12);
		__builtin_memset(&e->daddr[4], 0, 12);
	}
}

static __always_inline void ks_net_submit(struct ks_net *e)
{
	bpf_ringbuf_submit(e, ks_rb_wakeup_flags(&ks_rb_net, ks_net_wakeup_bytes, e->hdr.size, KS_RB_RESERVED));
}

/* Application bytes: the kernel's counters include the SYN (acked) and FIN (acked / received). */
static __always_inline void ks_tcp_bytes(struct sock *sk, int old, int direction, u64 *in, u64 *out)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	u64 acked = BPF_CORE_READ(tp, bytes_acked), received = BPF_CORE_READ(tp, bytes_received);
	/* SOCK_DONE (bit 1 of sk_flags) is set by tcp_fin(): the peer's FIN was received and counted. An
	 * orphaned socket leaves for a timewait socket as soon as its FIN is acked, before the peer's FIN. */
	int fin_in = (BPF_CORE_READ(sk, __sk_common.skc_flags) >> 1) & 1;
	int fin_out = old == TCP_FIN_WAIT2 || old == TCP_LAST_ACK || old == TCP_CLOSING;

	if (direction == KS_DIR_OUT && acked)
		acked--; /* our SYN (an accepted socket starts counting after the handshake) */
	if (fin_out && acked)
		acked--;
	if (fin_in && received)
		received--;
	*out = acked;
	*in = received;
}

/* the socket's address as a plain number: the map key and ks_sock_id's input, arithmetic a trusted BTF
 * pointer forbids (its fields are read through it either way) */
static __always_inline u64 ks_plain(struct sock **sk)
{
	u64 p = 0;

	bpf_probe_read_kernel(&p, sizeof(p), sk);
	return p;
}

/* The socket behind a descriptor of the current process, or NULL. */
static __always_inline struct sock *ks_fd_sock(long fd)
{
	struct file *f = ks_fd_file(bpf_get_current_task_btf(), (int)fd);
	struct socket *sock;

	if (!f || (BPF_CORE_READ(f, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(sock, sk);
}

#endif
