/* drivers.c - the database client libraries: the calls in which a thread
 * waits for its database.  A thread off CPU inside one of these (uprobes on
 * entry and return, daemon/sampling/dbprobes.c) waits with reason "db",
 * whatever the system call (the server's socket, SQLite's file, a busy
 * lock).  One entry per library, the entry points that block; a driver
 * that waits in Python instead (psycopg 3's and asyncpg's waits on the
 * event loop or a selector) is not seen here. */
#include "native/drivers.h"

#include <string.h>

/* Where the call has its statement's text, its kind says which argument
 * (PQexec's second, PQprepare's third); SQLite's text is its prepare's,
 * and its steps run the handle that prepare made (sqlite3_prepare_v3's
 * handle is its fifth argument: not read).  Each probed call costs two traps
 * into the kernel (bench/bench_db.py): PQgetResult, which PQexec calls
 * inside, is left out (a PQsendQuery client's wait for its result is
 * then not the database's). */
static const struct db_entry libpq[] = {
	{"PQexec", DB_SQL_ARG2},
	{"PQexecParams", DB_SQL_ARG2},
	{"PQprepare", DB_SQL_ARG3},
	{"PQexecPrepared", DB_PLAIN},
	{"PQdescribePrepared", DB_PLAIN},
	{"PQdescribePortal", DB_PLAIN},
	{"PQconnectdb", DB_PLAIN},
	{"PQconnectdbParams", DB_PLAIN},
	{"PQgetCopyData", DB_PLAIN},
	{"PQputCopyEnd", DB_PLAIN},
	{"PQping", DB_PLAIN},
	{NULL, DB_PLAIN},
};

static const struct db_entry sqlite[] = {
	{"sqlite3_step", DB_STEP},
	{"sqlite3_exec", DB_SQL_ARG2},
	{"sqlite3_prepare_v2", DB_PREPARE},
	{"sqlite3_prepare", DB_PREPARE},
	{"sqlite3_prepare_v3", DB_PLAIN},
	{"sqlite3_open_v2", DB_PLAIN},
	{"sqlite3_open", DB_PLAIN},
	{"sqlite3_close_v2", DB_PLAIN},
	{"sqlite3_close", DB_PLAIN},
	{"sqlite3_backup_step", DB_PLAIN},
	{"sqlite3_blob_read", DB_PLAIN},
	{"sqlite3_blob_write", DB_PLAIN},
	{NULL, DB_PLAIN},
};

static const struct db_entry mysql[] = {
	{"mysql_real_query", DB_SQL_ARG2},
	{"mysql_send_query", DB_SQL_ARG2},
	{"mysql_read_query_result", DB_PLAIN},
	{"mysql_store_result", DB_PLAIN},
	{"mysql_fetch_row", DB_PLAIN},
	{"mysql_next_result", DB_PLAIN},
	{"mysql_real_connect", DB_PLAIN},
	{"mysql_stmt_execute", DB_PLAIN},
	{"mysql_stmt_fetch", DB_PLAIN},
	{"mysql_stmt_store_result", DB_PLAIN},
	{"mysql_ping", DB_PLAIN},
	{"mysql_commit", DB_PLAIN},
	{"mysql_rollback", DB_PLAIN},
	{"mysql_autocommit", DB_PLAIN},
	{NULL, DB_PLAIN},
};

static const struct db_driver table[] = {
	{"libpq", "psycopg2 (PostgreSQL)", libpq},
	{"libsqlite3", "sqlite3 (CPython's module)", sqlite},
	{"libmysqlclient", "mysqlclient (MySQL)", mysql},
	{"libmariadb", "mysqlclient (MariaDB's client library)", mysql},
};

const struct db_driver *db_drivers(size_t *n)
{
	*n = sizeof(table) / sizeof(table[0]);
	return table;
}

const struct db_driver *db_driver_of(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		size_t n = strlen(table[i].library);
		if (strncmp(base, table[i].library, n) == 0 && strncmp(base + n, ".so", 3) == 0 &&
		    (base[n + 3] == '\0' || base[n + 3] == '.'))
			return &table[i];
	}
	return NULL;
}
