// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Network: DNS question parsing (hostile bytes), address text, and the records -> model -> OCSF path
 * (an inbound Open held for accept(), Close from the model, seeds, malformed records). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "sensors/net.h"
#include "pipeline_fixture.h"

static void test_dns_question(void **state)
{
	static const uint8_t q[] = "\x07"
	                           "example"
	                           "\x03"
	                           "com"
	                           "\x00"
	                           "\x00\x1c"
	                           "\x00\x01";
	static const uint8_t hostile[] = "\x05"
	                                 "a\"b\n\xff"
	                                 "\x00"
	                                 "\x00\x01";
	static const uint8_t pointer[] = "\xc0\x0c";
	static const uint8_t cut[] = "\x07"
	                             "exa";
	char name[1100];
	bool trunc;

	(void)state;
	assert_int_equal(ks_dns_question(q, sizeof(q) - 1, name, sizeof(name), &trunc), 28);
	assert_string_equal(name, "example.com");
	assert_false(trunc);
	assert_string_equal(ks_dns_type_name(28), "AAAA");
	/* quote, newline and a non-UTF-8 byte become \DDD: the name is safe text whatever was sent */
	assert_int_equal(ks_dns_question(hostile, sizeof(hostile) - 1, name, sizeof(name), &trunc), 1);
	assert_string_equal(name, "a\\034b\\010\\255");
	assert_int_equal(ks_dns_question(pointer, 2, name, sizeof(name), &trunc), -1);
	assert_int_equal(ks_dns_question(cut, sizeof(cut) - 1, name, sizeof(name), &trunc), 0);
	assert_true(trunc);
	assert_string_equal(name, "exa");
	assert_int_equal(ks_dns_question((const uint8_t *)"\x00\x00\x02\x00\x01", 5, name, sizeof(name), &trunc), 2);
	assert_string_equal(name, ".");
}

static void test_addresses(void **state)
{
	uint8_t v4[16] = {127, 0, 0, 1}, v6[16] = {0};
	char s[64];

	(void)state;
	ks_net_addr_str(4, v4, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1");
	v4[0] = 255;
	v4[3] = 200;
	ks_net_addr_str(4, v4, s, sizeof(s));
	assert_string_equal(s, "255.0.0.200");
	v6[15] = 1;
	ks_net_addr_str(6, v6, s, sizeof(s));
	assert_string_equal(s, "::1");
}

#define NETNS 4026531840u

static struct ks_net rec(uint8_t action, uint64_t sock, uint32_t pid, uint8_t dir)
{
	struct ks_net e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = KS_EV_NET;
	e.hdr.version = KS_WIRE_VERSION;
	e.hdr.size = KS_NET_FIXED_SIZE;
	e.hdr.ts_ns = 1000000000ull;
	e.hdr.pid = pid;
	e.action = action;
	e.sock_id = sock;
	e.direction = dir;
	e.proto = 6;
	e.family = 4;
	e.uid = 0;
	e.loginuid = KS_NO_ID;
	e.netns = NETNS;
	inet_pton(AF_INET, "10.0.0.1", e.saddr);
	inet_pton(AF_INET, "10.0.0.2", e.daddr);
	e.sport = 443;
	e.dport = 50000;
	return e;
}

static int count_events(struct fixture *f)
{
	char line[1 << 16];
	int n = 0;
	FILE *fp;

	ks_outputs_flush(f->outs);
	fp = fopen(f->events, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp))
		n++;
	fclose(fp);
	return n;
}

static void test_inbound_open_waits_for_accept_then_close(void **state)
{
	struct fixture *f = *state;
	struct ks_net e = rec(KS_NA_ESTABLISHED, 42, 100, KS_DIR_IN);
	struct json_object *o;
	struct ks_conn **all;
	char uid[32];
	size_t n;

	f->pl.net = ks_netmodel_new(200000000ull);
	e.since_ns = 900000000ull; /* the handshake's end: when this connection began */
	e.lpid = 100;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(count_events(f), 0); /* held for accept() */
	e = rec(KS_NA_ACCEPT, 42, 101, KS_DIR_IN);
	e.sport = e.dport = 0; /* accept's record does not replace the tuple the model has */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Open");
	assert_int_equal(json_object_get_int(get(o, "actor.process.pid")), 101);
	assert_int_equal(json_object_get_int(get(o, "unmapped.listener_process.pid")), 100);
	assert_string_equal(gets_(o, "src_endpoint.ip"), "10.0.0.2"); /* the initiator: the peer */
	assert_int_equal(json_object_get_int(get(o, "src_endpoint.port")), 50000);
	assert_int_equal(json_object_get_int(get(o, "dst_endpoint.port")), 443);
	assert_int_equal(json_object_get_int(get(o, "connection_info.direction_id")), 1);
	snprintf(uid, sizeof(uid), "%s", gets_(o, "connection_info.uid"));
	assert_int_equal(strlen(uid), 16);
	assert_string_equal(gets_(o, "message"), "Open tcp 10.0.0.2:50000 -> 10.0.0.1:443 by process (pid 101)");
	assert_string_equal(gets_(o, "observables.0.name"), "src_endpoint.ip");
	assert_string_equal(gets_(o, "observables.0.value"), "10.0.0.2");
	json_object_put(o);
	all = ks_netmodel_snapshot(f->pl.net, false, &n);
	assert_int_equal(n, 1);
	assert_int_equal(all[0]->pid, 101);
	free(all);

	e = rec(KS_NA_CLOSE, 42, 0, 0); /* softirq: the kernel's record has no owner, the model has */
	e.nflags = KS_NF_NO_OWNER;
	e.sport = e.dport = 0;
	e.bytes_in = 10;
	e.bytes_out = 20;
	e.hdr.ts_ns = 3000000000ull;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_int_equal(json_object_get_int(get(o, "actor.process.pid")), 101);
	assert_int_equal(json_object_get_int(get(o, "traffic.bytes_in")), 10);
	assert_int_equal(json_object_get_int(get(o, "traffic.bytes_out")), 20);
	assert_int_equal(json_object_get_int(get(o, "duration")), 2000);
	assert_int_equal(json_object_get_int(get(o, "src_endpoint.port")), 50000);
	assert_string_equal(gets_(o, "connection_info.uid"), uid); /* one connection, one uid */
	json_object_put(o);
	all = ks_netmodel_snapshot(f->pl.net, false, &n);
	assert_int_equal(n, 0);
	free(all);

	/* the kernel reuses the socket (same sock_id) for a later connection: a new uid */
	e = rec(KS_NA_ESTABLISHED, 42, 100, KS_DIR_OUT);
	e.since_ns = e.hdr.ts_ns = 4000000000ull;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Open");
	assert_string_not_equal(gets_(o, "connection_info.uid"), uid);
	json_object_put(o);
}

static void test_unaccepted_open_is_emitted_after_the_wait(void **state)
{
	struct fixture *f = *state;
	struct ks_net e = rec(KS_NA_ESTABLISHED, 7, 100, KS_DIR_IN);
	struct json_object *o;

	f->pl.net = ks_netmodel_new(200000000ull);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	ks_net_tick(&f->pl, 1100000000ull, 0); /* 100 ms: still waiting */
	assert_int_equal(count_events(f), 0);
	ks_net_tick(&f->pl, 1300000000ull, 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Open");
	assert_false(json_object_get_boolean(get(o, "unmapped.accepted")));
	json_object_put(o);
	/* a reused socket id re-established before its close was seen must not corrupt the wait list */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	ks_net_tick(&f->pl, 5000000000ull, 1);
	assert_int_equal(count_events(f), 3);
}

/* short_lived_ms: a connection closed inside the window is its Close alone, carrying the Open's details;
 * one that outlives it gets its Open at the window's end, and its Close is an ordinary one. */
static void test_short_lived_connection_folds_into_its_close(void **state)
{
	struct fixture *f = *state;
	struct ks_net e = rec(KS_NA_ESTABLISHED, 5, 300, KS_DIR_OUT);
	struct json_object *o;

	f->pl.net = ks_netmodel_new(200000000ull);
	f->pl.net->short_lived_ns = 500000000ull;
	e.since_ns = e.hdr.ts_ns - 40000; /* connect() 40 us before: the handshake */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	ks_net_tick(&f->pl, 1400000000ull, 0); /* 400 ms: still held */
	assert_int_equal(count_events(f), 0);
	e = rec(KS_NA_CLOSE, 5, 300, KS_DIR_OUT);
	e.hdr.ts_ns = 1450000000ull;
	e.bytes_in = 7;
	e.bytes_out = 3;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(count_events(f), 1);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_true(json_object_get_boolean(get(o, "unmapped.short_lived")));
	assert_int_equal(json_object_get_int(get(o, "unmapped.connect_us")), 40);
	assert_int_equal(json_object_get_int(get(o, "traffic.bytes_in")), 7);
	assert_int_equal(json_object_get_int(get(o, "duration")), 450);
	json_object_put(o);
	ks_net_tick(&f->pl, 5000000000ull, 0); /* nothing left to release */
	assert_int_equal(count_events(f), 1);

	/* inbound, accepted, then alive past the window: Open (accepted) at the window's end, then Close */
	e = rec(KS_NA_ESTABLISHED, 6, 100, KS_DIR_IN);
	e.hdr.ts_ns = 6000000000ull;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ACCEPT, 6, 101, KS_DIR_IN);
	e.hdr.ts_ns = 6000001000ull;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(count_events(f), 1); /* accepted, still held for a close */
	ks_net_tick(&f->pl, 6600000000ull, 0);
	assert_int_equal(count_events(f), 2);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Open");
	assert_true(json_object_get_boolean(get(o, "unmapped.accepted")));
	assert_int_equal(json_object_get_int(get(o, "actor.process.pid")), 101);
	json_object_put(o);
	e = rec(KS_NA_CLOSE, 6, 101, KS_DIR_IN);
	e.hdr.ts_ns = 7000000000ull;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_null(get(o, "unmapped.short_lived"));
	json_object_put(o);
}

static void test_refused_listen_seed_and_malformed(void **state)
{
	struct fixture *f = *state;
	struct ks_net e = rec(KS_NA_FAILED, 9, 55, KS_DIR_OUT);
	struct json_object *o;
	struct ks_conn **all;
	size_t n;

	f->pl.net = ks_netmodel_new(0);
	e.err = 111;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Refuse");
	assert_string_equal(gets_(o, "status_detail"), "ECONNREFUSED");
	assert_string_equal(gets_(o, "status_code"), "111"); /* OCSF: a string */
	json_object_put(o);

	e = rec(KS_NA_FAILED, 13, 55, KS_DIR_OUT);
	e.err = 110; /* no answer to the SYNs */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Fail");
	assert_string_equal(gets_(o, "status_detail"), "ETIMEDOUT");
	json_object_put(o);

	/* a listener: Inbound (direction_id is required), and its Close too */
	e = rec(KS_NA_LISTEN, 14, 57, 0);
	e.since_ns = 2000000000ull;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Listen");
	assert_int_equal(json_object_get_int(get(o, "connection_info.direction_id")), 1);
	assert_string_equal(gets_(o, "connection_info.direction"), "Inbound");
	json_object_put(o);
	e = rec(KS_NA_UNLISTEN, 14, 57, 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_int_equal(json_object_get_int(get(o, "connection_info.direction_id")), 1);
	json_object_put(o);

	e = rec(KS_NA_SEED, 10, 56, 0);
	e.state = 10; /* TCP_LISTEN */
	assert_int_equal(ks_net_seed(&f->pl, &e, sizeof(e)), 0);
	all = ks_netmodel_snapshot(f->pl.net, true, &n);
	assert_int_equal(n, 1);
	assert_int_equal(all[0]->pid, 56);
	assert_true(all[0]->seeded);
	free(all);

	e = rec(KS_NA_CLOSE, 11, 1, 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, KS_NET_FIXED_SIZE - 1), -1); /* short */
	e.action = KS_NA_MAX;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), -1);
	e = rec(KS_NA_DNS, 12, 1, 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), -1); /* a DNS record must carry its question */
	assert_int_equal(f->pl.counters.malformed, 3);
}

/* The listeners' list: exactly the listening entries, by port, whatever else the table holds. */
static void test_listener_list_follows_listen_and_close(void **state)
{
	struct fixture *f = *state;
	struct ks_net e;
	struct ks_conn **all;
	size_t n;
	int i;

	f->pl.net = ks_netmodel_new(0);
	for (i = 0; i < 3; i++) { /* three listeners, sock ids 20..22, ports given by rec() */
		e = rec(KS_NA_LISTEN, 20 + (uint64_t)i, 70, 0);
		e.sport = (uint16_t)(9000 - i);
		assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	}
	e = rec(KS_NA_ESTABLISHED, 30, 71, KS_DIR_OUT); /* a connection is not a listener */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_UNLISTEN, 21, 70, 0); /* the middle one goes */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	all = ks_netmodel_snapshot(f->pl.net, true, &n);
	assert_int_equal(n, 2);
	assert_int_equal(all[0]->sport, 8998);
	assert_int_equal(all[1]->sport, 9000);
	free(all);
	assert_int_equal(ks_netmodel_count(f->pl.net, true), 2);
	e = rec(KS_NA_UNLISTEN, 20, 70, 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_UNLISTEN, 22, 70, 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	all = ks_netmodel_snapshot(f->pl.net, true, &n);
	assert_int_equal(n, 0);
	free(all);
	all = ks_netmodel_snapshot(f->pl.net, false, &n);
	assert_int_equal(n, 1);
	free(all);
}

/* A new socket at the address of an entry still in the model (its Close was lost): the old one ends,
 * counted, and the new one gets an entry and a connection uid of its own. */
static void test_new_socket_at_a_ghost_address_ends_the_ghost(void **state)
{
	struct fixture *f = *state;
	struct ks_net e;
	struct json_object *o;
	struct ks_conn **all;
	char uid1[32];
	size_t n;
	int before;

	f->pl.net = ks_netmodel_new(0);
	e = rec(KS_NA_LISTEN, 60, 80, 0);
	e.sport = 7000;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	o = last_event(f);
	snprintf(uid1, sizeof(uid1), "%s", gets_(o, "connection_info.uid"));
	json_object_put(o);
	before = count_events(f);
	e = rec(KS_NA_LISTEN, 60, 81, 0); /* the same socket address, a later listener: no Unlisten came */
	e.sport = 7001;
	e.hdr.ts_ns += 1000000;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(count_events(f), before + 2); /* the ghost's Close, then the Listen */
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Listen");
	assert_string_not_equal(gets_(o, "connection_info.uid"), uid1);
	json_object_put(o);
	assert_int_equal(f->pl.counters.net_reconciled, 1);
	all = ks_netmodel_snapshot(f->pl.net, true, &n);
	assert_int_equal(n, 1);
	assert_int_equal(all[0]->sport, 7001);
	free(all);

	/* inbound: a connection at the address of one whose Close was lost; the same record again is not one */
	e = rec(KS_NA_ESTABLISHED, 70, 90, KS_DIR_IN);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(f->pl.counters.net_reconciled, 1);
	e.dport = 50001;
	e.hdr.ts_ns += 1000000;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(f->pl.counters.net_reconciled, 2);
	all = ks_netmodel_snapshot(f->pl.net, false, &n);
	assert_int_equal(n, 1);
	assert_int_equal(all[0]->dport, 50001);
	free(all);
}

/* Ghosts (a Close lost to a full ring) end after two listings without them; the listener counts hold. */
/* kansokud's own connection to a local receiver: its records and the receiver's are not reported, even
 * when the receiver's close arrives after ours (each event about it would make more: a loop). */
static void test_own_connection_to_a_local_receiver_not_reported(void **state)
{
	struct fixture *f = *state;
	struct ks_net mine = rec(KS_NA_ESTABLISHED, 0x51, (uint32_t)getpid(), KS_DIR_OUT);
	struct ks_net peer = rec(KS_NA_ESTABLISHED, 0x52, 4242, KS_DIR_IN);

	f->pl.net = ks_netmodel_new(200000000ull);
	inet_pton(AF_INET, "127.0.0.1", mine.saddr);
	inet_pton(AF_INET, "127.0.0.1", mine.daddr);
	mine.sport = 40001; /* our ephemeral port */
	mine.dport = 514;
	memcpy(peer.saddr, mine.daddr, sizeof(peer.saddr));
	memcpy(peer.daddr, mine.saddr, sizeof(peer.daddr));
	peer.sport = 514;
	peer.dport = 40001;
	assert_int_equal(ks_net_handle(&f->pl, &mine, sizeof(mine)), 0);
	assert_int_equal(ks_net_handle(&f->pl, &peer, sizeof(peer)), 0);
	mine.action = KS_NA_CLOSE; /* we close first */
	mine.hdr.ts_ns += 1000;
	assert_int_equal(ks_net_handle(&f->pl, &mine, sizeof(mine)), 0);
	peer.action = KS_NA_CLOSE; /* the receiver's close comes after */
	peer.hdr.ts_ns += 2000;
	assert_int_equal(ks_net_handle(&f->pl, &peer, sizeof(peer)), 0);
	assert_int_equal(count_events(f), 0);
	/* both sides closed: the port is free again, and someone else's connection to it is reported */
	peer.sock_id = 0x53;
	peer.action = KS_NA_ESTABLISHED;
	peer.hdr.pid = 4343;
	peer.hdr.ts_ns += 3000;
	assert_int_equal(ks_net_handle(&f->pl, &peer, sizeof(peer)), 0);
	peer.action = KS_NA_CLOSE;
	peer.hdr.ts_ns += 1000000000ull;
	assert_int_equal(ks_net_handle(&f->pl, &peer, sizeof(peer)), 0);
	assert_true(count_events(f) >= 1);
}

static void test_tcp_reconcile_ends_ghosts_and_keeps_counts(void **state)
{
	struct fixture *f = *state;
	struct ks_net e = rec(KS_NA_SEED, 20, 56, 0);
	uint64_t live[4];
	struct json_object *o;

	f->pl.net = ks_netmodel_new(0);
	e.state = 10; /* TCP_LISTEN */
	assert_int_equal(ks_net_seed(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_SEED, 22, 57, 0);
	e.proto = 17;
	e.dport = 0;
	assert_int_equal(ks_net_seed(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 21, 58, KS_DIR_OUT);
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 23, 58, KS_DIR_OUT);
	e.hdr.ts_ns = 10000000000ull; /* established after the listings below: never taken for gone */
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	assert_int_equal(ks_netmodel_count(f->pl.net, true), 2);
	assert_int_equal(ks_netmodel_count(f->pl.net, false), 2);
	assert_true(ks_netmodel_has_udp_listeners(f->pl.net));
	assert_int_equal(count_events(f), 2);

	live[0] = 20;
	ks_net_tcp_reconcile(&f->pl, live, 0, 2000000000ull, 1,
	                     UINT64_MAX); /* another namespace: not listed, untouched */
	ks_net_tcp_reconcile(&f->pl, live, 0, 2100000000ull, 1, UINT64_MAX);
	assert_int_equal(count_events(f), 2);
	ks_net_tcp_reconcile(&f->pl, live, 1, 2000000000ull, NETNS, UINT64_MAX);
	assert_int_equal(count_events(f), 2); /* its Close may still be queued */
	live[0] = 20;
	ks_net_tcp_reconcile(&f->pl, live, 1, 3000000000ull, NETNS, 1999999999ull);
	assert_int_equal(count_events(f), 2); /* records written before the first list are not all read yet */
	ks_net_tcp_reconcile(&f->pl, live, 1, 4000000000ull, NETNS, UINT64_MAX);
	o = last_event(f);
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_false(json_object_get_boolean(get(o, "unmapped.close_observed")));
	assert_int_equal(json_object_get_int(get(o, "actor.process.pid")), 58);
	assert_int_equal(json_object_get_int(get(o, "dst_endpoint.port")), 50000);
	json_object_put(o);
	assert_int_equal(f->pl.counters.net_reconciled, 1);
	assert_int_equal(ks_netmodel_count(f->pl.net, false), 1);

	ks_net_tcp_reconcile(&f->pl, live, 0, 6000000000ull, NETNS, UINT64_MAX);
	ks_net_tcp_reconcile(&f->pl, live, 0, 8000000000ull, NETNS, UINT64_MAX);
	o = last_event(f);
	/* the listener's Close: its own address and port (the message words it since OCSF conformance) */
	assert_string_equal(gets_(o, "activity_name"), "Close");
	assert_int_equal(json_object_get_int(get(o, "dst_endpoint.port")), 443);
	assert_non_null(strstr(gets_(o, "message"), "port 443"));
	json_object_put(o);
	assert_int_equal(f->pl.counters.net_reconciled, 2);
	assert_int_equal(ks_netmodel_count(f->pl.net, true), 1); /* UDP: its own reconcile */
	assert_int_equal(ks_netmodel_count(f->pl.net, false), 1);
	assert_non_null(ks_netmodel_get(f->pl.net, 23));
	live[0] = 999;
	ks_net_udp_reconcile(&f->pl, live, 1, 9000000000ull, 1); /* another namespace: untouched */
	assert_true(ks_netmodel_has_udp_listeners(f->pl.net));
	ks_net_udp_reconcile(&f->pl, live, 1, 9000000000ull, NETNS);
	assert_false(ks_netmodel_has_udp_listeners(f->pl.net));
	assert_int_equal(ks_netmodel_count(f->pl.net, true), 0);
}

/* The namespaces the reconcile must enter: one per namespace, sorted, with the owners to enter through. */
static void test_model_names_its_network_namespaces(void **state)
{
	struct fixture *f = *state;
	struct ks_netns_owners ns[4];
	struct ks_net e;

	f->pl.net = ks_netmodel_new(0);
	e = rec(KS_NA_ESTABLISHED, 30, 70, KS_DIR_OUT);
	e.netns = 300;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 31, 71, KS_DIR_OUT);
	e.netns = 100;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 32, 72, KS_DIR_OUT);
	e.netns = 300;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_SEED, 33, 73, 0); /* a UDP listener in a third namespace */
	e.proto = 17;
	e.dport = 0;
	e.netns = 200;
	assert_int_equal(ks_net_seed(&f->pl, &e, sizeof(e)), 0);

	assert_int_equal(ks_netmodel_namespaces(f->pl.net, ns, 4, 0), 3);
	assert_int_equal(ns[0].netns, 100);
	assert_true(ns[0].tcp && !ns[0].udp);
	assert_int_equal(ns[0].pids[0], 71);
	assert_int_equal(ns[1].netns, 200);
	assert_true(ns[1].udp && !ns[1].tcp);
	assert_int_equal(ns[2].netns, 300);
	assert_true((ns[2].pids[0] == 70 && ns[2].pids[1] == 72) || (ns[2].pids[0] == 72 && ns[2].pids[1] == 70));
	assert_int_equal(ns[2].pids[2], 0);
	/* more namespaces than room: the first ones found, still sorted */
	assert_int_equal(ks_netmodel_namespaces(f->pl.net, ns, 2, 0), 2);
	assert_true(ns[0].netns < ns[1].netns);
}

/* One pass over several namespaces: each entry is judged by its own namespace's list; a namespace gone ends
 * its TCP entries after the grace, its UDP listeners at once; a namespace not listed is left alone. */
static void test_reconcile_across_network_namespaces(void **state)
{
	struct fixture *f = *state;
	uint64_t live[1] = {40}, t = 2000000000ull;
	struct ks_net_listing ls[3];
	struct ks_net e;
	int events;

	f->pl.net = ks_netmodel_new(0);
	e = rec(KS_NA_ESTABLISHED, 40, 80, KS_DIR_OUT); /* alive in namespace 100 */
	e.netns = 100;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 41, 81, KS_DIR_OUT); /* its Close lost, in namespace 100 */
	e.netns = 100;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 42, 82, KS_DIR_OUT); /* in namespace 200, which is gone */
	e.netns = 200;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_SEED, 43, 83, 0); /* a UDP listener there too */
	e.proto = 17;
	e.dport = 0;
	e.netns = 200;
	assert_int_equal(ks_net_seed(&f->pl, &e, sizeof(e)), 0);
	e = rec(KS_NA_ESTABLISHED, 44, 84, KS_DIR_OUT); /* namespace 300: not listed this time */
	e.netns = 300;
	assert_int_equal(ks_net_handle(&f->pl, &e, sizeof(e)), 0);
	events = count_events(f);

	for (int pass = 0; pass < 2; pass++, t += 2000000000ull) {
		memset(ls, 0, sizeof(ls));
		ls[0] = (struct ks_net_listing){
		    .netns = 200, .gone = true, .tcp_listed = true, .udp_listed = true, .listed_ns = t};
		ls[1] =
		    (struct ks_net_listing){.netns = 100, .tcp_listed = true, .listed_ns = t, .tcp = live, .n_tcp = 1};
		ls[2] = (struct ks_net_listing){.netns = 300, .listed_ns = t}; /* nothing listed: nothing ended */
		assert_int_equal(ks_net_reconcile(&f->pl, ls, 3, UINT64_MAX), pass == 0 ? 2 : 1);
	}
	/* 41 ended (two lists without it); 42 waits for the grace of its gone namespace; 43 ended at once */
	assert_null(ks_netmodel_get(f->pl.net, 41));
	assert_non_null(ks_netmodel_get(f->pl.net, 42));
	assert_null(ks_netmodel_get(f->pl.net, 43));
	assert_non_null(ks_netmodel_get(f->pl.net, 40));
	assert_non_null(ks_netmodel_get(f->pl.net, 44));
	assert_int_equal(count_events(f), events + 2);
	assert_int_equal(f->pl.counters.net_reconciled, 1);

	t = 2000000000ull + KS_NETNS_GONE_GRACE_NS;
	ls[0] = (struct ks_net_listing){.netns = 200, .gone = true, .tcp_listed = true, .listed_ns = t};
	assert_int_equal(ks_net_reconcile(&f->pl, ls, 1, UINT64_MAX), 0);
	assert_null(ks_netmodel_get(f->pl.net, 42));
	assert_int_equal(f->pl.counters.net_reconciled, 2);
	assert_non_null(ks_netmodel_get(f->pl.net, 40));
	assert_non_null(ks_netmodel_get(f->pl.net, 44));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dns_question),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test_setup_teardown(test_inbound_open_waits_for_accept_then_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unaccepted_open_is_emitted_after_the_wait, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_lived_connection_folds_into_its_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused_listen_seed_and_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_own_connection_to_a_local_receiver_not_reported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tcp_reconcile_ends_ghosts_and_keeps_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listener_list_follows_listen_and_close, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_new_socket_at_a_ghost_address_ends_the_ghost, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_model_names_its_network_namespaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reconcile_across_network_namespaces, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
