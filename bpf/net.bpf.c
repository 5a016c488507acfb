// SPDX-License-Identifier: GPL-2.0
/*
 * Network observation: TCP connections and listeners, UDP flows and binds, DNS queries.
 *
 * TCP follows the socket's own state machine (sock:inet_sock_set_state, a plain tracepoint that costs a
 * few loads per transition): CLOSE->SYN_SENT and CLOSE->LISTEN run in the calling process, so that is
 * where a socket gets its owner; later transitions run in softirq and take the owner from ks_socks. An
 * inbound connection is owned by its listener's owner until accept() names the acceptor. Only transitions
 * a user reads are sent: established, failed, closed, listen, unlisten. UDP and DNS are seen where a
 * datagram reaches the device queue (net:net_dev_queue, in the sender, with the payload at hand); repeats
 * of a (process, destination) are counted in the kernel. UDP binds are taken at bind()'s exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kansoku/events.h"
#include "maps.bpf.h"
#include "task.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* Set by the daemon between open and load. */
const volatile u64 ks_sock_key = 0;                   /* random: socket ids do not reveal kernel addresses */
const volatile u64 ks_udp_window_ns = 60000000000ull; /* UDP repeats of a key are counted for this long */
const volatile u64 ks_net_wakeup_bytes = 0;
const volatile bool ks_connect_events = false; /* also send the connect() attempt itself */
u32 ks_seed_pass = 0;                          /* the socket seed runs twice, see ks_seed_socks */
u64 ks_seed_retry = 0; /* the socket whose seed record did not fit: the iterator shows it again */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} ks_rb_net SEC(".maps");

/* Owner of every TCP socket between its first owned transition and CLOSE, keyed by the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, struct ks_sock_owner);
} ks_socks SEC(".maps");

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
} ks_listeners SEC(".maps");

/* UDP sockets bound to a port, by socket: a socket shared by several processes is seeded once. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, u64);
	__type(value, struct ks_sock_owner);
} ks_udp_bound SEC(".maps");

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

/* A keyed bijection of the socket address: stable per socket, meaningless outside this daemon run. */
static __always_inline u64 ks_sock_id(u64 sk)
{
	u64 x = (sk ^ ks_sock_key) * 0x9e3779b97f4a7c15ull;

	return x ^ (x >> 29);
}

/* A zeroed record of the fixed size, or NULL (and the drop counted). */
static __always_inline struct ks_net *ks_net_reserve(void)
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
	e->hdr.ts_ns = bpf_ktime_get_boot_ns();
	return e;
}

static __always_inline void ks_owner_current(struct ks_sock_owner *o)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	o->tgid = bpf_get_current_pid_tgid() >> 32;
	o->start_ns = ks_task_start_ns(BPF_CORE_READ(task, group_leader));
	o->uid = (u32)bpf_get_current_uid_gid();
	o->loginuid = ks_task_loginuid(task);
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

/* Addresses, ports and namespace from the socket's common part. */
static __always_inline void ks_net_tuple(struct ks_net *e, struct sock *sk)
{
	u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	e->proto = IPPROTO_TCP;
	e->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	e->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	e->netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	if (family == AF_INET) {
		e->family = 4;
		BPF_CORE_READ_INTO((u32 *)e->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((u32 *)e->daddr, sk, __sk_common.skc_daddr);
		return;
	}
	e->family = 6;
	BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr);
	BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr);
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

static __always_inline void ks_net_bytes(struct ks_net *e, struct sock *sk, int old)
{
	ks_tcp_bytes(sk, old, e->direction, &e->bytes_in, &e->bytes_out);
}

static __always_inline int ks_on_state(struct sock *sk, int old, int new)
{
	u64 key = (u64)sk, now;
	struct ks_sock_owner *o, no = {};
	struct ks_listen_key lk = {};
	struct ks_net *e;
	u16 family;

	if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	family = BPF_CORE_READ(sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;
	now = bpf_ktime_get_boot_ns();

	if (new == TCP_SYN_SENT || new == TCP_LISTEN) {
		/* connect() or listen(): the calling process owns the socket */
		ks_owner_current(&no);
		no.since_ns = now;
		no.direction = new == TCP_SYN_SENT ? KS_DIR_OUT : KS_DIR_UNKNOWN;
		no.listening = new == TCP_LISTEN;
		bpf_map_update_elem(&ks_socks, &key, &no, BPF_ANY);
		if (new == TCP_SYN_SENT && !ks_connect_events)
			return 0;
		e = ks_net_reserve();
		if (!e)
			return 0;
		ks_net_owner(e, &no);
		ks_net_tuple(e, sk);
		if (new == TCP_LISTEN) {
			lk.netns = e->netns;
			lk.port = e->sport;
			bpf_map_update_elem(&ks_listeners, &lk, &no, BPF_ANY);
		}
		e->action = new == TCP_LISTEN ? KS_NA_LISTEN : KS_NA_CONNECT;
		e->sock_id = ks_sock_id(key);
		ks_net_submit(e);
		return 0;
	}

	if (new == TCP_ESTABLISHED && (old == TCP_SYN_SENT || old == TCP_SYN_RECV)) {
		o = bpf_map_lookup_elem(&ks_socks, &key);
		if (old == TCP_SYN_RECV) {
			/* a new inbound connection, in softirq: owned by the listener's owner until accept() */
			lk.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
			lk.port = BPF_CORE_READ(sk, __sk_common.skc_num);
			o = bpf_map_lookup_elem(&ks_listeners, &lk);
			if (o) {
				no = *o;
				no.lpid = o->tgid;
				no.lstart_ns = o->start_ns;
			}
			no.direction = KS_DIR_IN;
			no.listening = 0;
			no.since_ns = now;
			bpf_map_update_elem(&ks_socks, &key, &no, BPF_ANY);
			o = o ? &no : NULL;
		}
		e = ks_net_reserve();
		if (!e)
			return 0;
		ks_net_owner(e, o);
		if (!o)
			e->direction = old == TCP_SYN_SENT ? KS_DIR_OUT : KS_DIR_IN;
		ks_net_tuple(e, sk);
		e->action = KS_NA_ESTABLISHED;
		e->sock_id = ks_sock_id(key);
		ks_net_submit(e);
		if (old == TCP_SYN_SENT && o)
			o->since_ns = now; /* from here on: the connection's age */
		return 0;
	}

	if (new != TCP_CLOSE || old == TCP_CLOSE || old == TCP_SYN_RECV)
		return 0;

	o = bpf_map_lookup_elem(&ks_socks, &key);
	if (old == TCP_SYN_SENT && !o)
		return 0; /* a connect that began before the daemon: nothing to pair with */
	e = ks_net_reserve();
	if (!e) {
		bpf_map_delete_elem(&ks_socks, &key);
		return 0;
	}
	ks_net_owner(e, o);
	ks_net_tuple(e, sk);
	e->sock_id = ks_sock_id(key);
	e->err = BPF_CORE_READ(sk, sk_err);
	if (old == TCP_LISTEN) {
		e->action = KS_NA_UNLISTEN;
		lk.netns = e->netns;
		lk.port = e->sport;
		bpf_map_delete_elem(&ks_listeners, &lk);
	} else if (old == TCP_SYN_SENT) {
		e->action = KS_NA_FAILED;
		e->direction = KS_DIR_OUT;
	} else {
		e->action = KS_NA_CLOSE;
		ks_net_bytes(e, sk, old);
		if (e->err == 104 /* ECONNRESET */ || e->err == 32 /* EPIPE */ || old == TCP_ESTABLISHED ||
		    old == TCP_CLOSE_WAIT)
			e->nflags |= KS_NF_RESET; /* no FIN handshake completed: a reset was sent or received */
	}
	ks_net_submit(e);
	bpf_map_delete_elem(&ks_socks, &key);
	return 0;
}

/*
 * A transition can fire inside another one's program on the same CPU (a softirq on the way out of an
 * interrupt that hit the program), and the kernel then skips the program rather than nest it: under a
 * loopback storm that lost a few percent of closes. So each flavour has a second program on the same
 * tracepoint, run after the first: the first writes which transition it took into a per-CPU slot, and the
 * second handles the transition only when the slot names another one, i.e. when the first was skipped.
 * (A flag set while the first runs would leave windows at its entry and exit; the token has none.)
 */
struct ks_state_token {
	u64 sk;
	s32 old, new;
};
/* tok[0]: the transition the main program took last; tok[1]: the one the first backup took last. */
struct ks_state_tokens {
	struct ks_state_token tok[2];
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ks_state_tokens);
} ks_state_taken SEC(".maps");

/* the socket's address is the map key: copy it out of its trusted-pointer type, which forbids the
 * arithmetic of ks_sock_id (the fields are read through CO-RE probes either way) */
static __always_inline struct sock *ks_plain(struct sock **sk)
{
	struct sock *p = NULL;

	bpf_probe_read_kernel(&p, sizeof(p), sk);
	return p;
}

static __always_inline bool ks_token_is(const struct ks_state_token *t, struct sock *sk, int old, int new)
{
	return t->sk == (u64)sk && t->old == old && t->new == new;
}

static __always_inline void ks_token_set(struct ks_state_token *t, struct sock *sk, int old, int new)
{
	t->sk = (u64)sk;
	t->old = old;
	t->new = new;
}

/*
 * The transitions ks_on_state acts on; the others (half of a connection's: ESTABLISHED to FIN_WAIT1 or
 * CLOSE_WAIT, FIN_WAIT1 to FIN_WAIT2, ...) leave every program of the chain on the arguments alone, before
 * any map lookup or socket read.
 */
static __always_inline bool ks_state_matters(int old, int new)
{
	switch (new) {
	case TCP_SYN_SENT:
	case TCP_LISTEN:
		return true;
	case TCP_ESTABLISHED:
		return old == TCP_SYN_SENT || old == TCP_SYN_RECV;
	case TCP_CLOSE:
		return old != TCP_CLOSE && old != TCP_SYN_RECV;
	}
	return false;
}

/*
 * Program `level` of the chain on the tracepoint (0: main, 1 and 2: backups). Each handles the transition
 * unless an earlier one in the chain already took it (its token names it), and marks its own token.
 */
static __always_inline int ks_state_chain(struct sock *sk, int old, int new, int level)
{
	u32 zero = 0;
	struct ks_state_tokens *t;

	if (!ks_state_matters(old, new))
		return 0;
	t = bpf_map_lookup_elem(&ks_state_taken, &zero);

	if (!t)
		return level == 0 ? ks_on_state(sk, old, new) : 0;
	if (level >= 1 && ks_token_is(&t->tok[0], sk, old, new))
		return 0;
	if (level >= 2 && ks_token_is(&t->tok[1], sk, old, new))
		return 0;
	if (level < 2)
		ks_token_set(&t->tok[level], sk, old, new);
	return ks_on_state(sk, old, new);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_net_state_btf, struct sock *sk, int old, int new)
{
	/* filtered before ks_plain's read: most transitions cost only this test */
	return ks_state_matters(old, new) ? ks_state_chain(ks_plain(&sk), old, new, 0) : 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_net_state_btf_nested, struct sock *sk, int old, int new)
{
	return ks_state_matters(old, new) ? ks_state_chain(ks_plain(&sk), old, new, 1) : 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_net_state_btf_nested2, struct sock *sk, int old, int new)
{
	return ks_state_matters(old, new) ? ks_state_chain(ks_plain(&sk), old, new, 2) : 0;
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ks_net_state_raw, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 0);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ks_net_state_raw_nested, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 1);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ks_net_state_raw_nested2, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 2);
}

/* accept(): the process that took the connection becomes its owner; the listener's owner is kept. */
struct ks_net_sys_exit {
	struct trace_entry ent;
	int nr;
	long ret;
};

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

static __always_inline int ks_on_accept(long ret)
{
	struct ks_sock_owner *o, no = {};
	struct sock *sk;
	struct ks_net *e;
	u64 key;

	if (ret < 0)
		return 0;
	sk = ks_fd_sock(ret);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	key = (u64)sk;
	o = bpf_map_lookup_elem(&ks_socks, &key);
	if (o) {
		no = *o;
	} else {
		no.direction = KS_DIR_IN;
		no.since_ns = bpf_ktime_get_boot_ns();
	}
	ks_owner_current(&no);
	bpf_map_update_elem(&ks_socks, &key, &no, BPF_ANY);
	e = ks_net_reserve();
	if (!e)
		return 0;
	ks_net_owner(e, &no);
	ks_net_tuple(e, sk);
	e->action = KS_NA_ACCEPT;
	e->sock_id = ks_sock_id(key);
	ks_net_submit(e);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int ks_net_accept4(struct ks_net_sys_exit *ctx)
{
	return ks_on_accept(ctx->ret);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int ks_net_accept(struct ks_net_sys_exit *ctx)
{
	return ks_on_accept(ctx->ret);
}

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
	ks_owner_current(&no);
	no.since_ns = bpf_ktime_get_boot_ns();
	no.listening = 1;
	bpf_map_update_elem(&ks_udp_bound, &key, &no, BPF_ANY);
	e = ks_net_reserve();
	if (!e)
		return 0;
	ks_net_owner(e, &no);
	ks_net_tuple(e, sk);
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
	return ks_on_xmit((struct sk_buff *)ks_plain((struct sock **)&skb), ks_plain(&sk));
}

SEC("raw_tp/net_dev_queue")
int BPF_PROG(ks_net_xmit_raw, struct sk_buff *skb)
{
	struct sock *sk = BPF_CORE_READ(skb, sk);

	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_UDP)
		return 0;
	return ks_on_xmit(skb, sk);
}

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
	ks_net_tuple(e, sk);
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
