/* fuzz_dump: dump_process() (daemon/python/dump.c), the userspace
 * unwinder: the thread list, the frame walks of include/pyunwind.h over
 * copies of the data stack, the code objects' names, files and line tables
 * (daemon/python/symbols.c); and pytasks_print() (daemon/python/pytasks.c),
 * the asyncio tasks: sys.modules, dicts, sets, weak references, the tasks'
 * lists and fields; all read from a target whose memory is the fuzzed
 * bytes.
 *
 * The target's memory: every read of another process goes through
 * process_vm_readv (daemon/sys/memread.c), which this program defines
 * itself; its definition serves the reads from the input, as the kernel
 * would (each remote piece whole or not at all, the first that fails ends
 * the transfer); sched_yield is defined too, as a no-op.  No code of the
 * profiler is changed for it.  /proc reads
 * are of this process (its threads, which the target's do not match).
 *
 * Input: a header (byte 0: CPython 3.N's minor N; byte 1: 0; bytes 2-9:
 * &_PyRuntime; bytes 10-17: &PyCode_Type, little-endian), then segments of
 * memory, each an address (8 bytes), a length (4 bytes) and that many
 * bytes.
 *
 * Seeds are real processes: with PYBPF_FUZZ_RECORD_PID=PID and
 * PYBPF_FUZZ_RECORD_OUT=FILE this program dumps PID (real reads) and writes
 * every byte the dump read, in the format above, to FILE. */
#include "fuzz.h"

#include <errno.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "native/elfcache.h"
#include "python/dump.h"
#include "python/pytasks.h"
#include "python/pyprocess.h"
#include "sys/memread.h"

static inline long pyu_read(void *rctx, void *dst, __u32 len, __u64 addr)
{
	return mem_read(*(pid_t *)rctx, addr, dst, len);
}

#include "pyunwind.h"

#define MAX_SEGS 512
#define HDR	 18

struct seg {
	uint64_t addr;
	uint32_t len;
	const uint8_t *bytes;
};

static struct seg segs[MAX_SEGS];
static size_t nsegs;
static FILE *devnull;

/* recording: the reads of a real process, kept */
static bool real_reads, recording;
static struct {
	uint64_t addr;
	uint32_t len;
	uint8_t *bytes;
} * rec;
static size_t nrec, rec_cap;

static const struct seg *find_seg(uint64_t addr, size_t len)
{
	for (size_t i = 0; i < nsegs; i++) {
		const struct seg *s = &segs[i];
		if (addr >= s->addr && addr - s->addr <= s->len && len <= s->len - (addr - s->addr))
			return s;
	}
	return NULL;
}

static void record(uint64_t addr, const void *p, size_t len)
{
	if (!len)
		return;
	if (nrec == rec_cap) {
		rec_cap = rec_cap ? 2 * rec_cap : 256;
		rec = realloc(rec, rec_cap * sizeof(*rec));
		if (!rec)
			abort();
	}
	rec[nrec].addr = addr;
	rec[nrec].len = (uint32_t)len;
	rec[nrec].bytes = malloc(len);
	memcpy(rec[nrec].bytes, p, len);
	nrec++;
}

/* The one way the profiler reads another process's memory. */
ssize_t process_vm_readv(pid_t pid, const struct iovec *local, unsigned long liovcnt,
			 const struct iovec *remote, unsigned long riovcnt, unsigned long flags)
{
	size_t li = 0, loff = 0;
	ssize_t total = 0;
	if (real_reads) {
		ssize_t n =
			syscall(SYS_process_vm_readv, pid, local, liovcnt, remote, riovcnt, flags);
		if (!recording)
			return n;
		/* what was read is the first n bytes of the remote pieces */
		size_t left = n > 0 ? (size_t)n : 0, lo = 0, lu = 0;
		for (unsigned long r = 0; r < riovcnt && left; r++) {
			size_t take = remote[r].iov_len < left ? remote[r].iov_len : left;
			/* gather it back from the local pieces it went to */
			uint8_t *tmp = malloc(take ? take : 1);
			for (size_t got = 0; got < take;) {
				size_t k = local[lo].iov_len - lu;
				if (k > take - got)
					k = take - got;
				memcpy(tmp + got, (uint8_t *)local[lo].iov_base + lu, k);
				got += k;
				lu += k;
				if (lu == local[lo].iov_len) {
					lo++;
					lu = 0;
				}
			}
			record((uint64_t)(uintptr_t)remote[r].iov_base, tmp, take);
			free(tmp);
			left -= take;
		}
		return n;
	}
	(void)pid;
	(void)flags;
	for (unsigned long r = 0; r < riovcnt; r++) {
		uint64_t addr = (uint64_t)(uintptr_t)remote[r].iov_base;
		size_t len = remote[r].iov_len;
		const struct seg *s = len ? find_seg(addr, len) : NULL;
		if (len && !s)
			break;
		const uint8_t *src = len ? s->bytes + (addr - s->addr) : NULL;
		while (len) {
			if (li >= liovcnt)
				return total;
			size_t k = local[li].iov_len - loff;
			if (k > len)
				k = len;
			memcpy((uint8_t *)local[li].iov_base + loff, src, k);
			src += k;
			len -= k;
			loff += k;
			total += (ssize_t)k;
			if (loff == local[li].iov_len) {
				li++;
				loff = 0;
			}
		}
	}
	if (!total && riovcnt) {
		errno = EFAULT;
		return -1;
	}
	return total;
}

/* dump.c yields between attempts to let a running target move on; this
 * one never moves, and a yield on a busy machine gives away the CPU for a
 * whole time slice (hundreds of them for an input whose walk never holds). */
int sched_yield(void)
{
	return 0;
}

static void put(FILE *f, const void *p, size_t n)
{
	if (fwrite(p, 1, n, f) != n)
		abort();
}

static int cmp_rec(const void *a, const void *b)
{
	const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Writes the recorded reads, overlapping ones merged (the first read of
 * each byte kept). */
static void write_recording(const char *path, const struct pyprocess *pp)
{
	FILE *f = fopen(path, "we");
	if (!f) {
		perror(path);
		exit(1);
	}
	uint8_t minor = (uint8_t)pp->minor, zero = 0;
	put(f, &minor, 1);
	put(f, &zero, 1);
	put(f, &pp->runtime_addr, 8);
	put(f, &pp->code_type_addr, 8);
	qsort(rec, nrec, sizeof(*rec), cmp_rec);
	for (size_t i = 0; i < nrec;) {
		uint64_t lo = rec[i].addr, hi = lo + rec[i].len;
		size_t j = i + 1;
		while (j < nrec && rec[j].addr <= hi) {
			if (rec[j].addr + rec[j].len > hi)
				hi = rec[j].addr + rec[j].len;
			j++;
		}
		uint8_t *buf = calloc(1, hi - lo);
		uint8_t *seen = calloc(1, hi - lo);
		for (size_t k = i; k < j; k++)
			for (uint32_t b = 0; b < rec[k].len; b++)
				if (!seen[rec[k].addr - lo + b]) {
					seen[rec[k].addr - lo + b] = 1;
					buf[rec[k].addr - lo + b] = rec[k].bytes[b];
				}
		uint32_t len = (uint32_t)(hi - lo);
		put(f, &lo, 8);
		put(f, &len, 4);
		put(f, buf, len);
		free(buf);
		free(seen);
		i = j;
	}
	fclose(f);
}

static void record_process(pid_t pid, const char *out)
{
	static struct pyprocess pp;
	struct dump d;
	char err[512];
	struct elfcache *ec = elfcache_new();
	real_reads = true;
	if (pyprocess_inspect(pid, ec, &pp, err, sizeof(err)) != PYPROC_OK) {
		fprintf(stderr, "record: %s\n", err);
		exit(1);
	}
	recording = true;
	if (dump_process(&pp, &d, DUMP_NONBLOCKING | DUMP_LOCALS, err, sizeof(err))) {
		fprintf(stderr, "record: %s\n", err);
		exit(1);
	}
	if (pytasks_print(&pp, false, stderr, err, sizeof(err)))
		fprintf(stderr, "record: tasks: %s\n", err);
	recording = false;
	dump_print_text(&pp, &d, stderr);
	dump_free(&d);
	write_recording(out, &pp);
	elfcache_free(ec);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *pid = getenv("PYBPF_FUZZ_RECORD_PID");
	const char *out = getenv("PYBPF_FUZZ_RECORD_OUT");
	if (pid && out)
		record_process((pid_t)atoi(pid), out);
	/* PYBPF_FUZZ_PRINT=1: the dumps on stderr (to see what a seed holds) */
	devnull = getenv("PYBPF_FUZZ_PRINT") ? stderr : fopen("/dev/null", "we");
	if (!devnull)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pyprocess pp;
	size_t nl;
	if (size < HDR)
		return 0;
	const struct pylayout *all = pylayout_all(&nl);
	const struct pylayout *L = pylayout_find(3, data[0]);
	if (!L)
		L = &all[data[0] % nl];
	memset(&pp, 0, sizeof(pp));
	pp.pid = pp.ns_pid = getpid();
	pp.major = 3;
	pp.minor = L->version & 0xff;
	pp.layout = *L;
	memcpy(&pp.runtime_addr, data + 2, 8);
	memcpy(&pp.code_type_addr, data + 10, 8);
	snprintf(pp.object, sizeof(pp.object), "fuzz");

	nsegs = 0;
	for (size_t at = HDR; at + 12 <= size && nsegs < MAX_SEGS;) {
		struct seg *s = &segs[nsegs++];
		memcpy(&s->addr, data + at, 8);
		memcpy(&s->len, data + at + 8, 4);
		at += 12;
		if (s->len > size - at)
			s->len = (uint32_t)(size - at);
		s->bytes = data + at;
		at += s->len;
	}

	struct dump d;
	char err[256];
	if (dump_process(&pp, &d, DUMP_NONBLOCKING | DUMP_LOCALS, err, sizeof(err)) == 0) {
		dump_print_text(&pp, &d, devnull);
		dump_print_json(&pp, &d, devnull);
		dump_free(&d);
	}
	if (pp.minor >= 11)
		pytasks_print(&pp, size & 1, devnull, err, sizeof(err));
	return 0;
}
