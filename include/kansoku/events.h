/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel <-> user wire format. The BPF programs and the daemon include this file and nothing else
 * crosses the boundary. Fixed-width types only; every record starts with struct ks_hdr, whose `size`
 * is the whole record including its variable-length tail, so a reader can skip kinds it does not know.
 * Bump KS_WIRE_VERSION on any layout change.
 */
#ifndef KANSOKU_EVENTS_H
#define KANSOKU_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s32 s32;
#endif

#define KS_WIRE_VERSION 2

enum ks_event_kind {
	KS_EV_EXEC = 1,   /* successful execve/execveat: the new image */
	KS_EV_FORK = 2,   /* a new process (not a thread) */
	KS_EV_EXIT = 3,   /* the last thread of a process exited */
	KS_EV_SEED = 4,   /* a process that was running when the daemon started (task iterator) */
	KS_EV_FILE = 5,   /* a file operation on a watched path (success or failure) */
	KS_EV_NET = 6,    /* a connection, listener, UDP flow or DNS query (struct ks_net) */
	KS_EV_PTRACE = 7, /* ptrace attach/seize, or the first write into a tracee (struct ks_ptrace) */
	KS_EV_KMOD = 8,   /* init_module/finit_module, any result (struct ks_kmod) */
	KS_EV_SETID = 9,  /* a chmod that set S_ISUID or S_ISGID, anywhere (struct ks_setid) */
	KS_EV_KIND_MAX,
};

/* Limits of the variable-length tail. The BPF side masks offsets with the powers of two. */
#define KS_PATH_MAX 4096   /* a resolved path, NUL included */
#define KS_ARGV_MAX 4096   /* argv bytes taken from the new mm (config may lower it) */
#define KS_CGROUP_MAX 2048 /* cgroup v2 path: 16 levels of up to 127 bytes */
/* whole tail: exe, argv, script, cwd (KS_PATH_MAX each at most) plus the cgroup path */
#define KS_DATA_MAX (4 * KS_PATH_MAX + KS_CGROUP_MAX + KS_PATH_MAX / 2)
#define KS_TTY_LEN 16
#define KS_COMM_LEN 16

/* ks_exec.flags */
#define KS_F_ARGV_TRUNC (1u << 0)   /* argv longer than argv_max: cut, never silently */
#define KS_F_PATH_TRUNC (1u << 1)   /* executable path longer than the resolver's limits */
#define KS_F_DELETED (1u << 2)      /* executable was unlinked (or never linked: memfd) */
#define KS_F_PSEUDO (1u << 3)       /* executable lives on an unmounted internal fs (memfd, ...) */
#define KS_F_SCRIPT (1u << 4)       /* exec went through an interpreter (#!): script segment set */
#define KS_F_SCRIPT_REL (1u << 5)   /* script name was relative: cwd segment set */
#define KS_F_CGROUP_TRUNC (1u << 6) /* cgroup path deeper than the resolver's limits */
#define KS_F_CWD_TRUNC (1u << 7)
#define KS_F_KTHREAD (1u << 8) /* seed record of a kernel thread (no mm) */
#define KS_F_NO_ARGV (1u << 9) /* seed record: argv must be read from /proc by user space */
/* exec: fd 0, 1 or 2 is an IPv4/IPv6 socket (a reverse shell's mark; unix sockets, such as journald's
 * stdout of every service, do not count) */
#define KS_F_STDIN_INET (1u << 10)
#define KS_F_STDOUT_INET (1u << 11)
#define KS_F_STDERR_INET (1u << 12)
#define KS_F_STDIO_INET (KS_F_STDIN_INET | KS_F_STDOUT_INET | KS_F_STDERR_INET)

#define KS_NO_ID 0xffffffffu /* loginuid/sessionid unset (audit's (unsigned)-1) */

struct ks_hdr {
	u16 kind;    /* enum ks_event_kind */
	u16 version; /* KS_WIRE_VERSION */
	u32 size;    /* bytes of the whole record */
	u64 ts_ns;   /* CLOCK_BOOTTIME ns */
	u32 pid;     /* tgid */
	u32 tid;
	u64 cgroup_id;
};

struct ks_creds {
	u32 uid, gid, euid, egid;
	u32 loginuid;  /* audit login uid: who logged in, survives sudo/su */
	u32 sessionid; /* audit session id */
};

/*
 * KS_EV_EXEC and KS_EV_SEED. The tail holds, in this order and each NUL-terminated except argv:
 *   exe path (exe_len), argv as the kernel stores it (NUL-separated, argv_len bytes),
 *   script path (script_len, KS_F_SCRIPT), cwd (cwd_len, KS_F_SCRIPT_REL), cgroup path (cgroup_len).
 */
struct ks_exec {
	struct ks_hdr hdr;
	u64 start_ns;        /* task start, CLOCK_BOOTTIME ns: with pid, the process identity */
	u64 parent_start_ns; /* real parent's start */
	u32 ppid;            /* real parent tgid */
	u32 flags;           /* KS_F_* */
	struct ks_creds creds;
	u32 tty_nr;     /* new_encode_dev(major, minor) of the controlling tty, 0 if none */
	u32 argv_total; /* bytes of argv in the mm (before the cut) */
	u64 exe_ino;    /* inode of the executable */
	u32 exe_dev;    /* st_dev of the executable (new_encode_dev) */
	u32 exe_mode;   /* inode mode */
	u16 exe_len, argv_len, script_len, cwd_len, cgroup_len, _pad[3];
	char tty[KS_TTY_LEN];
	char comm[KS_COMM_LEN];
	u8 data[KS_DATA_MAX];
};

/* Only the fixed part travels when the tail is short: */
#define KS_EXEC_FIXED_SIZE ((u32) __builtin_offsetof(struct ks_exec, data))

struct ks_fork {
	struct ks_hdr hdr; /* pid/tid: the child */
	u64 start_ns;
	u64 parent_start_ns;
	u32 ppid;
	u32 _pad;
};

struct ks_exit {
	struct ks_hdr hdr;
	u64 start_ns;
	u32 exit_code; /* wait(2) status layout: (code << 8) | signal | 0x80 core */
	u32 _pad;
};

/* File operations (ks_file.op). */
enum ks_file_op {
	KS_FOP_OPEN = 1,
	KS_FOP_UNLINK,
	KS_FOP_RMDIR,
	KS_FOP_RENAME,
	KS_FOP_LINK,
	KS_FOP_SYMLINK,
	KS_FOP_MKDIR,
	KS_FOP_CHMOD,
	KS_FOP_CHOWN,
	KS_FOP_TRUNCATE,
	KS_FOP_MAX,
};

/* Operation classes a watch rule selects (bit masks, config `ops`). */
#define KS_OPS_READ (1u << 0)   /* open for reading only */
#define KS_OPS_WRITE (1u << 1)  /* open for writing, truncate */
#define KS_OPS_CREATE (1u << 2) /* open that created the file, mkdir, link, symlink */
#define KS_OPS_DELETE (1u << 3) /* unlink, rmdir */
#define KS_OPS_RENAME (1u << 4) /* rename (either path watched) */
#define KS_OPS_ATTRIB (1u << 5) /* chmod, chown */
#define KS_OPS_ALL 0x3fu

/* ks_file.fflags */
#define KS_FF_CREATED (1u << 0)    /* the open created the file */
#define KS_FF_FROM_FILE (1u << 1)  /* path resolved from the file itself (exact) */
#define KS_FF_PATH_TRUNC (1u << 2) /* path longer than the resolver's limits */
#define KS_FF_DELETED (1u << 3)    /* the file was already unlinked */
#define KS_FF_AGG_HEAD (1u << 4)   /* first of an aggregation window: repeats are counted in the kernel */
#define KS_FF_NAME_TRUNC (1u << 5) /* the name passed by the process was longer than the buffer */
#define KS_FF_PATH2_TRUNC (1u << 6)
#define KS_FF_UNREACHABLE (1u << 7)     /* file on an internal fs (pipe, memfd) */
#define KS_FF_OTHER_MNTNS (1u << 8)     /* the process is in another mount namespace than the daemon */
#define KS_FF_NEEDS_NORMALIZE (1u << 9) /* name-based path holds "." or ".." parts: user space normalizes */

#define KS_FILE_PATH_MAX 4096

/* KS_EV_FILE. Tail: path (path_len, NUL included), then for rename/link/symlink the second path. */
struct ks_file {
	struct ks_hdr hdr;
	u64 start_ns; /* the process (with hdr.pid): its identity in the process table */
	u64 ino;      /* inode, when known (from the file) */
	u32 dev;      /* st_dev, when known */
	u32 mode;     /* inode mode, when known */
	u32 owner_uid, owner_gid;
	u32 op;         /* enum ks_file_op */
	s32 ret;        /* the syscall's result: >= 0 success, -errno failure */
	u32 open_flags; /* open(2) flags; chmod mode; chown uid */
	u32 arg2;       /* chown gid; renameat2/linkat flags */
	u32 fflags;     /* KS_FF_* */
	u32 ops_class;  /* the KS_OPS_* bit this event counts as */
	u32 uid, euid, loginuid;
	u32 mntns;        /* mount namespace inode of the process */
	u64 prev_repeats; /* with KS_FF_AGG_HEAD: repeats of the previous window of the same key */
	u64 agg_name;     /* with KS_FF_AGG_HEAD: the name part of the aggregation key (struct ks_agg_key) */
	u16 path_len, path2_len, _pad[2];
	char data[2 * KS_FILE_PATH_MAX + 512];
};

#define KS_FILE_FIXED_SIZE ((u32) __builtin_offsetof(struct ks_file, data))

/*
 * The kernel's aggregation map: key and value (the daemon reads counts after a window closes). Repeats of
 * one access by one process to one path within the window share a key. The inode alone cannot say "one
 * path": ext4 hands a deleted file's inode number to the next file created, so the key also names the
 * file: for an access through the file, its parent directory's dentry and its name's dcache hash and
 * length; for an access by name (unlink, rmdir), a hash of the whole path.
 */
struct ks_agg_key {
	u32 tgid;
	u32 ops_class; /* KS_OPS_* bit | op << KS_AGG_OP_SHIFT: an unlink never merges with an rmdir */
	u64 ino;       /* 0 for accesses by name */
	u32 dev;
	u32 _pad;
	u64 name;
};
#define KS_AGG_OP_SHIFT 16

struct ks_agg_val {
	u64 first_ns; /* start of the window */
	u64 repeats;  /* accesses after the first, inside the window */
};

/* Watch rules, set into the programs' read-only data before load. */
#define KS_RULES_MAX 32
#define KS_RULE_HEAD 128
#define KS_RULE_TAIL 64

/* A rule is a path prefix; with KS_RULE_WILD, head + one '*' component + tail ("/home/" * "/.ssh"). */
struct ks_rule {
	char head[KS_RULE_HEAD]; /* canonical path prefix (up to and including the '/' before a '*') */
	u32 head_len;
	u32 ops;   /* KS_OPS_* selected (0 for an ignore rule) */
	u32 flags; /* KS_RULE_* */
	u32 tail_len;
	char tail[KS_RULE_TAIL]; /* KS_RULE_WILD: what follows the '*' component ("/.ssh", or empty) */
};

#define KS_RULE_IGNORE (1u << 1) /* matching paths are never reported */
#define KS_RULE_WILD (1u << 2)   /* head, then any one component, then tail: matched in the kernel */

/* An executable whose file accesses are not reported (key of the ks_ignore_exe map). */
struct ks_exe_id {
	u64 ino;
	u32 dev; /* the kernel's dev_t (MKDEV: major << 20 | minor) */
	u32 _pad;
};
#define KS_IGNORE_EXE_MAX 64

/* Network (ks_net.action). */
enum ks_net_action {
	KS_NA_CONNECT = 1, /* outbound TCP: connect() sent a SYN (process context) */
	KS_NA_ESTABLISHED, /* TCP reached ESTABLISHED (direction says which side) */
	KS_NA_FAILED,      /* outbound TCP never established: err says why (ECONNREFUSED, ETIMEDOUT, ...) */
	KS_NA_CLOSE,       /* an established TCP connection closed: bytes and duration; err on reset */
	KS_NA_ACCEPT,      /* a process took an inbound connection with accept(): the acceptor */
	KS_NA_LISTEN,      /* TCP listen() or UDP bind() to a port */
	KS_NA_UNLISTEN,    /* the listening socket closed */
	KS_NA_UDP_FLOW,    /* first UDP datagram of a (process, destination) window */
	KS_NA_DNS,         /* a DNS query sent to port 53 over UDP */
	KS_NA_SEED,        /* a socket that existed when the daemon started (task_file iterator) */
	KS_NA_MAX,
};

#define KS_DIR_UNKNOWN 0
#define KS_DIR_IN 1  /* accepted from a listener */
#define KS_DIR_OUT 2 /* connect() */

/* ks_net.nflags */
#define KS_NF_RESET (1u << 0)    /* closed by a reset (sent or received) */
#define KS_NF_NO_OWNER (1u << 1) /* the kernel did not know which process owns the socket */
#define KS_NF_DNS_TRUNC (1u << 2)

#define KS_DNS_NAME_MAX 264 /* the question as sent: QNAME labels (<= 255 bytes), QTYPE, QCLASS */

/*
 * KS_EV_NET. hdr.pid is the owning process (for softirq-time transitions: the process recorded when the
 * socket was created, connected, listened or accepted), not whatever ran on the CPU. Addresses are in
 * network byte order, IPv4 in the first 4 bytes; ports in host order.
 */
struct ks_net {
	struct ks_hdr hdr;
	u64 start_ns;  /* the owning process's start (identity with hdr.pid); 0 when unknown */
	u64 sock_id;   /* opaque per-socket id (a keyed hash of the kernel's socket): pairs open and close */
	u64 since_ns;  /* CONNECT time for ESTABLISHED/FAILED, ESTABLISHED time for CLOSE, LISTEN time */
	u64 bytes_in;  /* CLOSE: application bytes received (kernel counters, SYN/FIN removed) */
	u64 bytes_out; /* CLOSE: application bytes sent and acknowledged */
	u64 count;     /* UDP_FLOW: datagrams of the previous window of this key (0 for a new key) */
	u64 lstart_ns; /* inbound: the listener's owner start */
	u32 lpid;      /* inbound: the listener's owner */
	u32 uid, loginuid;
	u32 netns; /* network namespace inode of the socket */
	u32 nflags;
	s32 err;                             /* errno (positive) for FAILED and reset CLOSE */
	u8 action, direction, proto, family; /* family: 4 or 6 (a v4-mapped v6 address is reported as 4) */
	u8 state;                            /* SEED: the TCP state */
	u8 _pad8;
	u16 sport, dport; /* local, remote */
	u16 dns_qtype, dns_len;
	u16 _pad16;
	u8 saddr[16], daddr[16];
	u8 dns[KS_DNS_NAME_MAX];
};
#define KS_NET_FIXED_SIZE ((u32) __builtin_offsetof(struct ks_net, dns))

/* Output of the TCP iterator behind `kansoku conns`: bytes so far of one live connection. */
struct ks_conn_bytes {
	u64 sock_id;
	u64 bytes_in, bytes_out;
};

/* Owner of a socket: kept in the kernel from connect/listen/accept to close. */
struct ks_sock_owner {
	u64 start_ns;
	u64 since_ns;
	u64 lstart_ns;
	u32 tgid, uid, loginuid, lpid;
	u8 direction, listening, _pad[6];
};

/* ptrace requests the sensor reports (<linux/ptrace.h>; the same on every architecture). */
enum ks_ptrace_req {
	KS_PTRACE_POKETEXT = 4,
	KS_PTRACE_POKEDATA = 5,
	KS_PTRACE_POKEUSR = 6,
	KS_PTRACE_SETREGS = 13, /* x86 only; other architectures use SETREGSET */
	KS_PTRACE_ATTACH = 16,
	KS_PTRACE_SETREGSET = 0x4205,
	KS_PTRACE_SEIZE = 0x4206,
};

/*
 * KS_EV_PTRACE. hdr: the tracer. Attach and seize are reported with their result; a write into the tracee
 * (POKE*, SETREGS, SETREGSET) only when it succeeded and only the first per (tracer, tracee) pair, since a
 * debugger writes thousands of breakpoints. The tracee is resolved in the kernel from the tracer's list of
 * tracees (host pid namespace); target_pid is 0 when it could not be.
 */
struct ks_ptrace {
	struct ks_hdr hdr;
	u64 start_ns; /* the tracer's start */
	struct ks_creds creds;
	s32 ret;
	u32 request;    /* enum ks_ptrace_req */
	u32 target_arg; /* the pid argument, in the tracer's pid namespace */
	u32 target_pid; /* the tracee's tgid (host), 0 when unresolved */
	u32 target_tid;
	u32 _pad;
	u64 target_start_ns; /* the tracee process's start: with target_pid, its identity */
	u64 addr;            /* POKE*: the address written */
	char comm[KS_COMM_LEN];
	char target_comm[KS_COMM_LEN];
};

enum ks_kmod_call { KS_KMOD_INIT = 1, KS_KMOD_FINIT = 2 };
#define KS_KMOD_PARAMS_MAX 256

/* ks_kmod.kflags and ks_setid.sflags */
#define KS_SF_PATH_TRUNC (1u << 0)   /* a resolved path longer than the resolver's limits */
#define KS_SF_UNREACHABLE (1u << 1)  /* file on an internal fs (memfd): no path */
#define KS_SF_DELETED (1u << 2)      /* the file was already unlinked */
#define KS_SF_FROM_FILE (1u << 3)    /* path resolved from the file itself (fchmod, finit_module) */
#define KS_SF_NAME_TRUNC (1u << 4)   /* the name passed was longer than the buffer */
#define KS_SF_PARAMS_TRUNC (1u << 5) /* module parameters longer than KS_KMOD_PARAMS_MAX */
#define KS_SF_OTHER_MNTNS (1u << 6)  /* the process is in another mount namespace than the daemon */

/* KS_EV_KMOD. Tail: the module file's path (finit_module; path_len, NUL included), then the parameters
 * string (params_len, NUL included). */
struct ks_kmod {
	struct ks_hdr hdr;
	u64 start_ns;
	struct ks_creds creds;
	s32 ret;
	u32 call;      /* enum ks_kmod_call */
	u32 sflags;    /* KS_SF_* */
	u32 mod_flags; /* finit_module flags (MODULE_INIT_*) */
	u64 image_len; /* init_module: bytes of the image passed from memory */
	u64 ino;       /* finit_module: the file's inode */
	u32 dev;
	u32 mntns;
	u16 path_len, params_len;
	u32 _pad;
	char comm[KS_COMM_LEN];
	char data[KS_PATH_MAX + KS_KMOD_PARAMS_MAX];
};
#define KS_KMOD_FIXED_SIZE ((u32) __builtin_offsetof(struct ks_kmod, data))

enum ks_setid_call { KS_SETID_CHMOD = 1, KS_SETID_FCHMOD, KS_SETID_FCHMODAT, KS_SETID_FCHMODAT2 };

/*
 * KS_EV_SETID: a successful chmod/fchmod/fchmodat/fchmodat2 whose mode has S_ISUID or S_ISGID; the filter
 * runs in the kernel, so an ordinary chmod costs one compare. Tail: base (base_len, NUL included: the
 * file's own path for fchmod, else the directory a relative name starts from, resolved in the kernel;
 * empty for an absolute name), then the name as the process passed it (name_len, NUL included).
 */
struct ks_setid {
	struct ks_hdr hdr;
	u64 start_ns;
	struct ks_creds creds;
	s32 ret;
	u32 call;      /* enum ks_setid_call */
	u32 mode;      /* the mode requested */
	u32 sflags;    /* KS_SF_* */
	u64 ino;       /* fchmod: the inode */
	u32 dev;       /* fchmod */
	u32 file_mode; /* fchmod: the inode's mode after the change (the kernel may drop S_ISGID) */
	u32 owner_uid, owner_gid;
	u32 mntns;
	u16 base_len, name_len;
	char comm[KS_COMM_LEN];
	char data[2 * KS_PATH_MAX];
};
#define KS_SETID_FIXED_SIZE ((u32) __builtin_offsetof(struct ks_setid, data))

#endif /* KANSOKU_EVENTS_H */
