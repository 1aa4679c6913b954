/* daemon/native/drivers.c: which mapped file is a database client library,
 * and the table's entries resolve in the libraries installed here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "native/drivers.h"
#include "native/elfsyms.h"

static void test_library_names(void **state)
{
	(void)state;
	const struct db_driver *pq = db_driver_of("/usr/lib/x86_64-linux-gnu/libpq.so.5.15");
	assert_non_null(pq);
	assert_string_equal(pq->library, "libpq");
	assert_ptr_equal(db_driver_of("/lib/x86_64-linux-gnu/libpq.so.5"), pq);
	assert_ptr_equal(db_driver_of("libpq.so"), pq);
	const struct db_driver *sq = db_driver_of("/usr/lib/x86_64-linux-gnu/libsqlite3.so.0.8.6");
	assert_non_null(sq);
	assert_string_equal(sq->library, "libsqlite3");
	assert_non_null(db_driver_of("/usr/lib/x86_64-linux-gnu/libmariadb.so.3"));
	assert_non_null(db_driver_of("/usr/lib/x86_64-linux-gnu/libmysqlclient.so.21"));
	/* a prefix, another suffix, a directory's name: not a driver */
	assert_null(db_driver_of("/usr/lib/libpqwalreceiver.so"));
	assert_null(db_driver_of("/usr/lib/libpq.sox"));
	assert_null(db_driver_of("/usr/lib/libpq.a"));
	assert_null(db_driver_of("/opt/libpq.so.5/python3.11"));
	assert_null(db_driver_of("/usr/lib/x86_64-linux-gnu/libsqlite3x.so.0"));
	assert_null(db_driver_of(""));
	assert_null(db_driver_of("/"));
}

/* Every library of the table installed here exports every entry point
 * listed for it, but for those its version lacks: at least the main ones. */
static void test_symbols_resolve(void **state)
{
	(void)state;
	const struct {
		const char *path, *must;
	} libs[] = {
		{"/usr/lib/x86_64-linux-gnu/libpq.so.5", "PQexec"},
		{"/usr/lib/x86_64-linux-gnu/libsqlite3.so.0", "sqlite3_step"},
	};
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		const struct db_driver *d = db_driver_of(libs[i].path);
		assert_non_null(d);
		int fd = open(libs[i].path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0); /* install-deps installs both */
		struct elf_file ef;
		assert_int_equal(elf_file_load(fd, &ef), 0);
		close(fd);
		size_t found = 0, n = 0;
		for (; d->entries[n].symbol; n++)
			found += elf_file_symbol(&ef, d->entries[n].symbol) != 0;
		assert_true(elf_file_symbol(&ef, libs[i].must) != 0);
		assert_int_equal(found, n);
		elf_file_free(&ef);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_names),
		cmocka_unit_test(test_symbols_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
