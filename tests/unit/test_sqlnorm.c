/* include/sqlnorm.h: a statement's template, as the kernel makes it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sqlnorm.h"

static void same(const char *in, const char *want)
{
	char out[PYBPF_SQL_MAX];
	sqlnorm_template(in, out);
	assert_string_equal(out, want);
}

static void test_literals(void **state)
{
	(void)state;
	same("SELECT pg_sleep(0.03), 'secret-17'", "SELECT pg_sleep(?), ?");
	same("SELECT * FROM orders WHERE id = 1234", "SELECT * FROM orders WHERE id = ?");
	same("INSERT INTO t VALUES (17, 'it''s')", "INSERT INTO t VALUES (?, ?)");
	same("INSERT INTO t VALUES (1, 'it\\'s a secret')", "INSERT INTO t VALUES (?, ?)");
	same("SELECT 0x1F, 1e10, -3.14", "SELECT ?, ?, -?");
	same("SELECT * FROM t1 JOIN col_2 ON t1.a2 = $1",
	     "SELECT * FROM t1 JOIN col_2 ON t1.a2 = $?");
	same("  SELECT\n\t1  ", "SELECT ? ");
	same("SELECT \"Col 1\" FROM t", "SELECT \"Col ?\" FROM t");
	same("SELECT ?", "SELECT ?");
	same("", "");
}

/* A literal whose closing quote never comes: everything after it dropped. */
static void test_unclosed(void **state)
{
	(void)state;
	same("SELECT 'secret and more FROM t WHERE x = 1", "SELECT ?");
	same("SELECT 'C:\\' , 'x' FROM t", "SELECT ?x?");
}

/* Different literals, one template, one hash; another statement, another. */
static void test_hash(void **state)
{
	(void)state;
	char a[PYBPF_SQL_MAX], b[PYBPF_SQL_MAX], c[PYBPF_SQL_MAX];
	uint32_t ha = sqlnorm_template("SELECT * FROM t WHERE id = 1", a);
	uint32_t hb = sqlnorm_template("SELECT * FROM t WHERE id = 98765", b);
	uint32_t hc = sqlnorm_template("SELECT * FROM u WHERE id = 1", c);
	assert_int_equal(ha, hb);
	assert_true(ha != hc && ha && hc);
	assert_int_equal(sqlnorm_template("   ", a), 0);
}

/* Only the first PYBPF_SQL_MAX - 1 bytes are read, as in the kernel. */
static void test_long(void **state)
{
	(void)state;
	char in[1000], out[PYBPF_SQL_MAX];
	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = 0;
	sqlnorm_template(in, out);
	assert_int_equal(strlen(out), PYBPF_SQL_MAX - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_unclosed),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
