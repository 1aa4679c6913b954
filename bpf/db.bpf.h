/* db.bpf.h - threads inside a database client library's call (libpq's
 * PQexec, SQLite's sqlite3_step...: daemon/native/drivers.c), from uprobes
 * on its entry points attached while off-CPU time is recorded: the time
 * such a call waits is database time, whatever it waits on (the server's
 * socket, the database file, a busy lock).  Where the call has its
 * statement (its text, or SQLite's handle of a prepared one), the
 * statement's template is made here (include/sqlnorm.h: no literal leaves
 * the kernel), and the call's time counted by template. */
#ifndef PYBPF_DB_BPF_H
#define PYBPF_DB_BPF_H

#include "gil.bpf.h"
#include "maps.bpf.h"
#include "sqlnorm.h"

/* The entry of tid's call, if this one is the outermost (else NULL: a
 * nested call counts in its caller's). */
static __always_inline struct db_call *db_call_enter(__u32 tid)
{
	struct db_call *c = bpf_map_lookup_elem(&db_calls, &tid);
	if (c) {
		c->depth++;
		return NULL;
	}
	struct db_call n = {.start = bpf_ktime_get_ns(), .depth = 1};
	stat_inc(STAT_DB_CALLS);
	if (bpf_map_update_elem(&db_calls, &tid, &n, BPF_NOEXIST)) {
		stat_inc(STAT_DROP_DB);
		return NULL;
	}
	return bpf_map_lookup_elem(&db_calls, &tid);
}

/* The template of the statement text at user (a C string), kept in
 * sql_texts; its hash, 0 if none. */
static __always_inline __u32 db_sql_of(const char *user)
{
	__u32 zero = 0, i;
	struct sql_scratch *s = bpf_map_lookup_elem(&sql_scratch, &zero);
	if (!s || !user || bpf_probe_read_user_str(s->raw, sizeof(s->raw), user) <= 1)
		return 0;
	struct sqlnorm n = {.hash = SQLNORM_FNV_INIT};
	for (i = 0; i < PYBPF_SQL_MAX - 1; i++) {
		__u8 c = s->raw[i];
		if (!c)
			break;
		s->t.text[i] = (char)sqlnorm_step(&n, c);
	}
	if (i < PYBPF_SQL_MAX)
		s->t.text[i] = 0;
	if (!n.last)
		return 0; /* blanks only */
	__u32 h = n.hash ? n.hash : 1;
	bpf_map_update_elem(&sql_texts, &h, &s->t, BPF_NOEXIST);
	return h;
}

/* An entry point of kind k (enum db_entry_kind) entered. */
static __always_inline void db_enter(struct pt_regs *ctx, int k)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	if (!bpf_map_lookup_elem(&procs, &pid))
		return;
	struct db_call *c = db_call_enter((__u32)id);
	if (!c || !sql_text_enabled)
		return;
	c->execution = k == DB_SQL_ARG2 || k == DB_SQL_ARG3;
	if (k == DB_SQL_ARG2 || k == DB_PREPARE)
		c->sql = db_sql_of((const char *)PT_REGS_PARM2(ctx));
	else if (k == DB_SQL_ARG3)
		c->sql = db_sql_of((const char *)PT_REGS_PARM3(ctx));
	if (k == DB_PREPARE)
		c->stmt_out = PT_REGS_PARM4(ctx);
	if (k == DB_STEP) {
		struct db_stmt_key sk = {.pid = pid, .stmt = PT_REGS_PARM1(ctx)};
		struct db_stmt *st = bpf_map_lookup_elem(&db_stmts, &sk);
		if (!st)
			return;
		c->sql = st->sql;
		c->stmt = sk.stmt;
		c->execution = st->fresh;
		st->fresh = 0;
	}
}

#define SQLITE_ROW 100

/* A step returned rc: unless it gave a row, its statement is done, and the
 * handle's next step runs it again (no probe on sqlite3_reset: two traps a
 * query fewer). */
static __always_inline void db_step_return(__u32 pid, const struct db_call *c, long rc)
{
	struct db_stmt_key sk = {.pid = pid, .stmt = c->stmt};
	struct db_stmt *st = bpf_map_lookup_elem(&db_stmts, &sk);
	if (st && rc != SQLITE_ROW)
		st->fresh = 1;
}

static __always_inline void sql_count(__u32 pid, __u32 sql, __u64 ns, int execution)
{
	struct sql_key k = {.pid = pid, .sql = sql};
	struct sql_stat *st = bpf_map_lookup_elem(&sql_stats, &k), zero = {};
	if (!st) {
		bpf_map_update_elem(&sql_stats, &k, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&sql_stats, &k);
		if (!st)
			return;
	}
	__sync_fetch_and_add(&st->ns, ns);
	if (!execution)
		return;
	__sync_fetch_and_add(&st->calls, 1);
	if (ns > st->max_ns)
		st->max_ns = ns;
	struct sql_hist_key hk = {.pid = pid, .sql = sql, .bucket = log_bucket(ns)};
	__u64 one = 1, *v = bpf_map_lookup_elem(&sql_hist, &hk);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&sql_hist, &hk, &one, BPF_NOEXIST);
}

static __always_inline void db_call_return(long rc)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id, pid = id >> 32;
	struct db_call *c = bpf_map_lookup_elem(&db_calls, &tid);
	if (!c)
		return;
	if (c->depth > 1) {
		c->depth--;
		return;
	}
	if (c->stmt)
		db_step_return(pid, c, rc);
	if (c->sql && c->stmt_out) { /* the handle it made runs this statement */
		struct db_stmt_key sk = {.pid = pid};
		struct db_stmt st = {.sql = c->sql, .fresh = 1};
		if (!bpf_probe_read_user(&sk.stmt, sizeof(sk.stmt), (const void *)c->stmt_out) &&
		    sk.stmt)
			bpf_map_update_elem(&db_stmts, &sk, &st, BPF_ANY);
	}
	if (c->sql)
		sql_count(pid, c->sql, bpf_ktime_get_ns() - c->start, c->execution);
	bpf_map_delete_elem(&db_calls, &tid);
}

/* The statement of the database call the thread is in (0: none, or not
 * read): a CPU sample inside the driver carries it, as its waits do. */
static __always_inline __u32 db_sql_now(__u32 tid)
{
	struct db_call *c = bpf_map_lookup_elem(&db_calls, &tid);
	return c ? c->sql : 0;
}

/* A wait inside a driver's call is the database's; but the GIL's, and the
 * run queue's, stay theirs (a preempted driver waits for a CPU).  *sql: its
 * statement's template, if known. */
static __always_inline __u8 db_reason(__u32 tid, __u8 reason, __u32 *sql)
{
	*sql = 0;
	if (reason == REASON_GIL || reason == REASON_RUNQUEUE)
		return reason;
	struct db_call *c = bpf_map_lookup_elem(&db_calls, &tid);
	if (!c)
		return reason;
	*sql = c->sql;
	return REASON_DB;
}

#endif
