/* fuzz_pushqueue: the push queue's reader (daemon/service/pushqueue.c):
 * pushq_open() indexing a queue directory that holds one window file of
 * fuzzed bytes (as a crash, a full disk or another writer may leave it),
 * then pushq_read() of every window it indexed, as the pusher does.
 *
 * Input: byte 0 picks the file's sequence number (its low 7 bits) and the
 * queue's bound (bit 7: 64 bytes, else 1 MiB); the rest is the file. */
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>

#include "export/export.h"
#include "profile/profile.h"
#include "service/pushqueue.h"
#include "service/pyroscope.h"

static char dir[64];

static void clean(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	if (!d)
		abort();
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static void remove_dir(void)
{
	clean();
	rmdir(dir);
}

/* Seeds: window files as the pusher writes them (pyro_query, a gzip'd
 * pprof of a small real profile, pushq_write), read back. */
static void write_seeds(const char *out)
{
	struct profile p;
	struct pushqueue q;
	char err[256], name[300];
	uint64_t dropped = 0, size;
	unsigned char *pprof = NULL;
	size_t len = 0;
	if (profile_init(&p, 99))
		abort();
	struct prof_frame leaf = {PROF_FRAME_PYTHON, "compute", "/srv/app/work.py", "", 10, 12, 0};
	struct prof_frame root = {PROF_FRAME_PYTHON, "<module>", "/srv/app/main.py", "", 1, 3, 0};
	struct prof_frame nat = {
		PROF_FRAME_NATIVE, "PyObject_Call", "", "/usr/lib/libpython3.11.so", 0, 0,
		0x7f0000001234};
	uint32_t st[3] = {(uint32_t)profile_frame(&p, &leaf), (uint32_t)profile_frame(&p, &nat),
			  (uint32_t)profile_frame(&p, &root)};
	profile_add(&p, st, 3, 42, 42 * 10101010ULL, 1234, 1234, "MainThread", "");
	profile_add(&p, st + 1, 2, 7, 7 * 10101010ULL, 1234, 1240, "worker", "");
	if (export_pprof_buf(&p, &pprof, &len))
		abort();
	if (pushq_open(&q, dir, 1u << 20, &dropped, err, sizeof(err)))
		abort();
	const char *labels[][2] = {{"", NULL}, {"env=prod,region=eu", "pid=1234"}};
	for (int i = 0; i < 2; i++) {
		char *query =
			pyro_query(labels[i][0], i ? "web-api" : "worker", labels[i][1],
				   1733050000 + 15 * i, 1733050015 + 15 * i, 99, err, sizeof(err));
		if (!query || pushq_write(&q, (uint64_t)i + 1, query, pprof, len, &size))
			abort();
		char *buf = NULL, *qq, *body;
		size_t body_len;
		char msg[256];
		if (pushq_read(&q, (uint64_t)i + 1, &buf, &qq, &body, &body_len, msg,
			       sizeof(msg)) != PUSHQ_OK)
			abort();
		qq[strlen(qq)] = '\n'; /* the file as it is on disk */
		snprintf(name, sizeof(name), "window-%d", i + 1);
		fuzz_seed(out, name, i + 1, buf, (size_t)size);
		free(buf);
		free(query);
	}
	pushq_close(&q);
	free(pprof);
	profile_free(&p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* tmpfs when there is one: nothing here needs to reach a disk */
	snprintf(dir, sizeof(dir), "%s/pybpf-fuzz-pushq-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	const char *out = getenv("PYBPF_FUZZ_WRITE_SEEDS");
	if (out) {
		write_seeds(out);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pushqueue q;
	char name[64], err[512], msg[512];
	uint64_t dropped = 0, seq;
	if (size < 1)
		return 0;
	uint64_t file_seq = data[0] & 0x7f, max_bytes = (data[0] & 0x80) ? 64 : 1u << 20;
	snprintf(name, sizeof(name), "%s/%016llu.win", dir, (unsigned long long)file_seq);
	int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || (size > 1 && write(fd, data + 1, size - 1) != (ssize_t)(size - 1)))
		abort();
	close(fd);

	if (pushq_open(&q, dir, max_bytes, &dropped, err, sizeof(err))) {
		fprintf(stderr, "pushq_open: %s\n", err);
		abort(); /* a directory of ours: it always opens */
	}
	if (q.next_seq <= file_seq && dropped == 0)
		abort(); /* the next number is past every file found */
	while (pushq_oldest(&q, &seq)) {
		char *buf = NULL, *query, *body;
		size_t body_len;
		enum pushq_read r =
			pushq_read(&q, seq, &buf, &query, &body, &body_len, msg, sizeof(msg));
		if (r == PUSHQ_OK) {
			/* as push.c uses them: the URL's query, then the body */
			size_t ql = strlen(query);
			if (strncmp(query, "name=", 5) || body != query + ql + 1 ||
			    body_len != size - 1 - (ql + 1))
				abort();
			fuzz_touch(body, body_len);
			free(buf);
		}
		if (!pushq_remove(&q, seq))
			abort();
	}
	pushq_close(&q);
	clean();
	return 0;
}
