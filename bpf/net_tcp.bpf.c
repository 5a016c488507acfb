// SPDX-License-Identifier: GPL-2.0
/*
 * TCP connections and listeners: the socket's state machine (sock:inet_sock_set_state) and accept().
 * Shared maps and helpers, and the design, in net.bpf.h.
 */
#include "net.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set by the daemon between open and load (net.bpf.h declares the first two for the other objects). */
const volatile u64 ks_sock_key = 0;
const volatile u64 ks_net_wakeup_bytes = 0;
const volatile bool ks_connect_events = false; /* also send the connect() attempt itself */

/*
 * btf: sk is a BTF pointer (tp_btf) and its fields are plain loads, not bpf_probe_read_kernel calls (a
 * constant in each program: the compiler drops the other path). key is the socket's plain address either
 * way: the map key, and ks_sock_id's input (arithmetic a BTF pointer forbids).
 *
 * The owner stays in the ks_socks LRU hash. Socket storage (BPF_MAP_TYPE_SK_STORAGE, allowed in tp_btf
 * programs since v5.11) was tried for issue 14 and measured on 6.18: the rr storm cost 2.39 us per
 * connection in this program instead of 1.52 us, because each socket's storage is a kmalloc charged to the
 * memory cgroup under two spinlocks, where the hash's elements are preallocated; its cheaper lookups do not
 * pay for two such allocations per connection.
 */
static __always_inline int ks_on_state(struct sock *sk, u64 key, int old, int new, bool btf)
{
	struct ks_sock_owner *o, no = {};
	struct ks_listen_key lk = {};
	struct ks_net *e;
	u64 now;
	u16 family;

	if (KS_READ(btf, sk, sk_protocol) != IPPROTO_TCP)
		return 0;
	family = KS_READ(btf, sk, __sk_common.skc_family);
	if (family != AF_INET && family != AF_INET6)
		return 0;

	if (new == TCP_SYN_SENT || new == TCP_LISTEN) {
		/* connect() or listen(): the calling process owns the socket */
		now = bpf_ktime_get_boot_ns();
		ks_owner_current(&no, btf);
		no.since_ns = now;
		no.direction = new == TCP_SYN_SENT ? KS_DIR_OUT : KS_DIR_UNKNOWN;
		no.listening = new == TCP_LISTEN;
		bpf_map_update_elem(&ks_socks, &key, &no, BPF_ANY);
		if (new == TCP_SYN_SENT && !ks_connect_events)
			return 0;
		e = ks_net_reserve_at(now);
		if (!e)
			return 0;
		ks_net_owner(e, &no);
		ks_net_tuple(e, sk, btf);
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
		now = bpf_ktime_get_boot_ns();
		if (old == TCP_SYN_SENT) {
			o = bpf_map_lookup_elem(&ks_socks, &key);
		} else {
			/* a new inbound connection, in softirq: owned by the listener's owner until accept() */
			lk.netns = btf ? sk->__sk_common.skc_net.net->ns.inum
			               : BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
			lk.port = KS_READ(btf, sk, __sk_common.skc_num);
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
		e = ks_net_reserve_at(now);
		if (!e)
			return 0;
		ks_net_owner(e, o);
		if (!o)
			e->direction = old == TCP_SYN_SENT ? KS_DIR_OUT : KS_DIR_IN;
		ks_net_tuple(e, sk, btf);
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
	ks_net_tuple(e, sk, btf);
	e->sock_id = ks_sock_id(key);
	e->err = KS_READ(btf, sk, sk_err);
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
		ks_tcp_bytes(sk, old, e->direction, &e->bytes_in, &e->bytes_out);
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
	u64 addr[3]; /* per level: see ks_addr_of */
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct ks_state_tokens);
} ks_state_taken SEC(".maps");

static __always_inline bool ks_token_is(const struct ks_state_token *t, u64 key, int old, int new)
{
	return t->sk == key && t->old == old && t->new == new;
}

static __always_inline void ks_token_set(struct ks_state_token *t, u64 key, int old, int new)
{
	t->sk = key;
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
 * The plain address of the BTF pointer sk without a helper call: stored in this CPU's slot of the program's
 * level and read back as a number (the verifier lets a pointer be stored in a map under CAP_PERFMON, which
 * kansokud needs anyway). One slot per level: a backup can interrupt the main program between the two
 * accesses, and a program never interrupts itself (the kernel skips it instead).
 */
static __always_inline u64 ks_addr_of(struct ks_state_tokens *t, struct sock *sk, int level)
{
	volatile u64 *slot = &t->addr[level];

	*slot = (u64)sk;
	return *slot;
}

/*
 * Program `level` of the chain on the tracepoint (0: main, 1 and 2: backups). Each handles the transition
 * unless an earlier one in the chain already took it (its token names it), and marks its own token. btf:
 * sk is a BTF pointer (tp_btf), else a plain address (raw_tp).
 */
static __always_inline int ks_state_chain(struct sock *sk, int old, int new, int level, bool btf)
{
	u32 zero = 0;
	struct ks_state_tokens *t;
	u64 key;

	if (!ks_state_matters(old, new))
		return 0;
	t = bpf_map_lookup_elem(&ks_state_taken, &zero);
	if (!t)
		return level == 0 ? ks_on_state(sk, btf ? ks_plain(&sk) : (u64)sk, old, new, btf) : 0;
	key = btf ? ks_addr_of(t, sk, level) : (u64)sk;
	if (level >= 1 && ks_token_is(&t->tok[0], key, old, new))
		return 0;
	if (level >= 2 && ks_token_is(&t->tok[1], key, old, new))
		return 0;
	if (level < 2)
		ks_token_set(&t->tok[level], key, old, new);
	return ks_on_state(sk, key, old, new, btf);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_net_state_btf, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 0, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_net_state_btf_nested, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 1, true);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(ks_net_state_btf_nested2, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 2, true);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ks_net_state_raw, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 0, false);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ks_net_state_raw_nested, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 1, false);
}

SEC("raw_tp/inet_sock_set_state")
int BPF_PROG(ks_net_state_raw_nested2, struct sock *sk, int old, int new)
{
	return ks_state_chain(sk, old, new, 2, false);
}

/*
 * accept(): the process that took the connection becomes its owner; the listener's owner is kept. The
 * established entry is changed in place: an update would take a fresh LRU element and free the old one.
 */
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
		ks_owner_current(o, true);
	} else {
		/* not seen established (a ring full then, or the LRU evicted it): inbound from now */
		o = &no;
		no.direction = KS_DIR_IN;
		no.since_ns = bpf_ktime_get_boot_ns();
		ks_owner_current(&no, true);
		bpf_map_update_elem(&ks_socks, &key, &no, BPF_ANY);
	}
	e = ks_net_reserve();
	if (!e)
		return 0;
	ks_net_owner(e, o);
	ks_net_tuple(e, sk, false);
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
