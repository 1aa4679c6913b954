/* test_export_write.c - writing a profile to a path: atomic replacement,
 * no temporary left behind, errors reported, standard output. */
#define _GNU_SOURCE /* asprintf */
#include "exporters_fixture.h"

/* --- export_write_file ------------------------------------------------- */

/* The names in dir, sorted, joined by ' '. */
static char *list_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, ".."))
			fprintf(m, "%s%s", len || ftell(m) ? " " : "", ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	fclose(m);
	return buf;
}

static void test_write_file(void **state)
{
	char dir[] = "/tmp/pybpf_export_XXXXXX";
	char *path = NULL, *listing, *data, *expect;
	struct stat st;
	size_t len;

	assert_non_null(mkdtemp(dir));
	assert_true(asprintf(&path, "%s/out.folded", dir) > 0);

	/* A new file, then replaced whole by a shorter format... */
	write_file(path, "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n"
			 "old contents that are longer than anything written next\n");
	assert_int_equal(export_write_file(*state, EXPORT_COLLAPSED, path, NULL), 0);
	data = read_file(path, NULL);
	expect = render(*state, EXPORT_COLLAPSED, NULL);
	assert_string_equal(data, expect);
	free(data);
	free(expect);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	listing = list_dir(dir);
	assert_string_equal(listing, "out.folded");
	free(listing);

	/* ...and by each other format. */
	assert_int_equal(export_write_file(*state, EXPORT_SVG, path, "T"), 0);
	data = read_file(path, NULL);
	assert_true(strncmp(data, "<?xml", 5) == 0);
	assert_contains(data, "</svg>\n");
	free(data);
	assert_int_equal(export_write_file(*state, EXPORT_SPEEDSCOPE, path, "T"), 0);
	data = read_file(path, NULL);
	assert_contains(data, "\"name\":\"T\"");
	free(data);
	assert_int_equal(export_write_file(*state, EXPORT_PPROF, path, "T"), 0);
	data = read_file(path, &len);
	assert_true(len > 2);
	assert_int_equal((unsigned char)data[0], 0x1f); /* gzip */
	assert_int_equal((unsigned char)data[1], 0x8b);
	free(data);
	listing = list_dir(dir);
	assert_string_equal(listing, "out.folded");
	free(listing);

	unlink(path);
	rmdir(dir);
	free(path);
}

static void test_write_file_errors(void **state)
{
	char dir[] = "/tmp/pybpf_export_XXXXXX";
	char *path = NULL, *listing;

	assert_non_null(mkdtemp(dir));

	/* rename() over a directory fails: the temp file must go. */
	assert_true(asprintf(&path, "%s/sub", dir) > 0);
	assert_int_equal(mkdir(path, 0755), 0);
	errno = 0;
	assert_int_equal(export_write_file(*state, EXPORT_COLLAPSED, path, NULL), -1);
	assert_int_equal(errno, EISDIR);
	listing = list_dir(dir);
	assert_string_equal(listing, "sub");
	free(listing);
	rmdir(path);
	free(path);

	/* No such directory. */
	assert_true(asprintf(&path, "%s/missing/out.svg", dir) > 0);
	errno = 0;
	assert_int_equal(export_write_file(*state, EXPORT_SVG, path, NULL), -1);
	assert_int_equal(errno, ENOENT);
	free(path);

	/* Bad arguments. */
	assert_true(asprintf(&path, "%s/x", dir) > 0);
	errno = 0;
	assert_int_equal(export_write_file(*state, (enum export_format)9, path, NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(export_write_file(NULL, EXPORT_SVG, path, NULL), -1);
	assert_int_equal(export_write_file(*state, EXPORT_SVG, "", NULL), -1);
	free(path);

	listing = list_dir(dir);
	assert_string_equal(listing, "");
	free(listing);
	rmdir(dir);
}

static void test_write_stdout(void **state)
{
	char path[] = "/tmp/pybpf_stdout_XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(STDOUT_FILENO);

	assert_true(fd >= 0 && saved >= 0);
	fflush(stdout);
	assert_true(dup2(fd, STDOUT_FILENO) >= 0);
	int ret = export_write_file(*state, EXPORT_COLLAPSED, "-", NULL);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(fd);
	assert_int_equal(ret, 0);

	char *data = read_file(path, NULL);
	char *expect = render(*state, EXPORT_COLLAPSED, NULL);
	assert_string_equal(data, expect);
	free(data);
	free(expect);
	unlink(path);
}

static void test_write_error_reported(void **state)
{
	/* A full device: the error must come back, not be swallowed. */
	FILE *f = fopen("/dev/full", "w");
	assert_non_null(f);
	errno = 0;
	assert_int_equal(export_svg(*state, f, NULL), -1);
	assert_int_equal(errno, ENOSPC);
	fclose(f);
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(export_collapsed(*state, f), -1);
	fclose(f);
	f = fopen("/dev/full", "w");
	assert_non_null(f);
	assert_int_equal(export_speedscope(*state, f, NULL), -1);
	fclose(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_file),
		T(test_write_file_errors),
		T(test_write_stdout),
		T(test_write_error_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
