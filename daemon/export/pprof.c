/* export_pprof.c - the profile as gzip'd profile.proto, the format pprof reads.
 *
 * Every profile frame becomes one Location (id = frame index + 1) with a
 * single Line pointing at a Function, deduplicated on (name, filename,
 * start_line).  Native and kernel frames also point at a Mapping, one per
 * object path.  Strings are interned by content into string_table, whose
 * entry 0 is "".
 *
 * All message storage is sized up front from the profile (every table has a
 * known upper bound), so building the message never reallocates.
 */
#include "export/export.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "profile.pb-c.h"
#include "sys/htab.h"

typedef Perftools__Profiles__Profile pb_profile;
typedef Perftools__Profiles__ValueType pb_value_type;
typedef Perftools__Profiles__Sample pb_sample;
typedef Perftools__Profiles__Label pb_label;
typedef Perftools__Profiles__Mapping pb_mapping;
typedef Perftools__Profiles__Location pb_location;
typedef Perftools__Profiles__Line pb_line;
typedef Perftools__Profiles__Function pb_function;

#define KERNEL_MAPPING	  "[kernel.kallsyms]"
#define LABELS_PER_SAMPLE 12

/* Strings interned before any frame or sample; "" must stay first. */
enum fixed_str {
	STR_EMPTY,
	STR_SAMPLES,
	STR_COUNT,
	STR_PID,
	STR_THREAD_ID,
	STR_THREAD_NAME,
	STR_REASON,
	STR_CONTAINER_PID,
	STR_CGROUP,
	STR_ROOT,
	STR_CMDLINE,
	STR_KERNEL,
	STR_STALL,
	STR_NANOSECONDS,
	STR_TASK,
	STR_TASK_PARENTS,
	STR_ENDPOINT,
	STR_SQL,
	NR_FIXED_STRS,
};

/* Upper bounds of the strings interned for the header (value type and
 * unit), per frame (name, filename, object) and per sample (thread name,
 * reason, cgroup, root, cmdline, task, task parents, endpoint, sql). */
#define STRS_HEADER	2
#define STRS_PER_FRAME	3
#define STRS_PER_SAMPLE 9

struct pp {
	const struct profile *p;
	pb_profile msg;
	pb_value_type sample_type[3];
	pb_value_type *sample_type_ptrs[3];
	size_t nvalues; /* per sample: count, value, and stall ns when any */
	pb_value_type period_type;

	const char **strs;
	size_t nstrs;
	struct htab str_ht;

	pb_function *funcs;
	pb_function **func_ptrs;
	size_t nfuncs;
	struct htab func_ht;

	pb_mapping *maps;
	pb_mapping **map_ptrs;
	size_t nmaps;
	struct htab map_ht;

	pb_location *locs;
	pb_location **loc_ptrs;
	pb_line *lines;
	pb_line **line_ptrs;

	pb_sample *samples;
	pb_sample **sample_ptrs;
	uint64_t *loc_ids;
	int64_t *values;
	pb_label *labels;
	pb_label **label_ptrs;
	size_t nloc_ids, nlabels;
};

/* What an equality callback compares: the builder and the key sought. */
struct lookup {
	const struct pp *b;
	const void *key;
};

static bool str_eq(const void *ctx, uint32_t idx)
{
	const struct lookup *l = ctx;
	return strcmp(l->b->strs[idx], l->key) == 0;
}

/* s must outlive the message: profile strings and literals do. */
static int64_t pp_str(struct pp *b, const char *s)
{
	uint64_t h = hash_str(s);
	struct lookup l = {b, s};
	int64_t idx = htab_get(&b->str_ht, h, str_eq, &l);

	if (idx >= 0)
		return idx;
	b->strs[b->nstrs] = s;
	htab_put(&b->str_ht, h, (uint32_t)b->nstrs); /* sized up front: cannot fail */
	return (int64_t)b->nstrs++;
}

struct func_key {
	int64_t name, system_name, filename, start_line;
};

static bool func_eq(const void *ctx, uint32_t idx)
{
	const struct lookup *l = ctx;
	const struct func_key *k = l->key;
	const pb_function *f = &l->b->funcs[idx];

	return f->name == k->name && f->system_name == k->system_name &&
	       f->filename == k->filename && f->start_line == k->start_line;
}

static bool frame_has_address(const struct prof_frame *f)
{
	return f->kind == PROF_FRAME_NATIVE || f->kind == PROF_FRAME_KERNEL;
}

/* Native frames without a source file are filed under their object. */
static const char *frame_filename(const struct prof_frame *f)
{
	if (f->kind == PROF_FRAME_NATIVE && !f->file[0])
		return f->module;
	return f->file;
}

/* pprof "demangles" a function whose system_name equals its name, stripping
 * <...> and (...) from names it takes for C++: "<module>" would become "".
 * Only symbols get a system name; Python and special frames have none. */
static const char *frame_system_name(const struct prof_frame *f)
{
	return frame_has_address(f) ? f->name : "";
}

static const char *frame_object(const struct prof_frame *f)
{
	return f->kind == PROF_FRAME_KERNEL ? KERNEL_MAPPING : f->module;
}

/* Returns the id of f's function, adding it on first use. */
static uint64_t pp_function(struct pp *b, const struct prof_frame *f)
{
	struct func_key k = {
		.name = pp_str(b, f->name),
		.system_name = pp_str(b, frame_system_name(f)),
		.filename = pp_str(b, frame_filename(f)),
		.start_line = f->start_line,
	};
	pb_function *fn = &b->funcs[b->nfuncs];
	uint64_t h = hash_mix64((uint64_t)k.name) ^ (uint64_t)k.system_name;
	struct lookup l = {b, &k};
	int64_t idx;

	h = hash_mix64(hash_mix64(h) ^ (uint64_t)k.filename);
	h = hash_mix64(h ^ (uint64_t)k.start_line);
	idx = htab_get(&b->func_ht, h, func_eq, &l);
	if (idx >= 0)
		return (uint64_t)idx + 1;

	perftools__profiles__function__init(fn);
	fn->id = b->nfuncs + 1;
	fn->name = k.name;
	fn->system_name = k.system_name;
	fn->filename = k.filename;
	fn->start_line = k.start_line;
	b->func_ptrs[b->nfuncs] = fn;
	htab_put(&b->func_ht, h, (uint32_t)b->nfuncs);
	return ++b->nfuncs;
}

static bool map_eq(const void *ctx, uint32_t idx)
{
	const struct lookup *l = ctx;
	return l->b->maps[idx].filename == *(const int64_t *)l->key;
}

/* Returns the id of the mapping of object path obj, or 0 when obj is "". */
static uint64_t pp_mapping(struct pp *b, const char *obj)
{
	pb_mapping *m = &b->maps[b->nmaps];
	int64_t filename, idx;
	struct lookup l = {b, &filename};

	if (!obj[0])
		return 0;
	filename = pp_str(b, obj);
	idx = htab_get(&b->map_ht, (uint64_t)filename, map_eq, &l);
	if (idx >= 0)
		return (uint64_t)idx + 1;

	perftools__profiles__mapping__init(m);
	m->id = b->nmaps + 1;
	m->filename = filename;
	m->has_functions = true;
	b->map_ptrs[b->nmaps] = m;
	htab_put(&b->map_ht, (uint64_t)filename, (uint32_t)b->nmaps);
	return ++b->nmaps;
}

static void pp_location(struct pp *b, size_t i)
{
	const struct prof_frame *f = &b->p->frames[i];
	pb_location *loc = &b->locs[i];
	pb_line *line = &b->lines[i];

	perftools__profiles__line__init(line);
	line->function_id = pp_function(b, f);
	line->line = frame_has_address(f) ? 0 : f->line;
	b->line_ptrs[i] = line;

	perftools__profiles__location__init(loc);
	loc->id = i + 1;
	loc->mapping_id = pp_mapping(b, frame_object(f));
	loc->address = frame_has_address(f) ? f->address : 0;
	loc->n_line = 1;
	loc->line = &b->line_ptrs[i];
	b->loc_ptrs[i] = loc;
}

static pb_label *pp_label(struct pp *b, pb_sample *s, int64_t key)
{
	pb_label *l = &b->labels[b->nlabels];

	perftools__profiles__label__init(l);
	l->key = key;
	b->label_ptrs[b->nlabels++] = l;
	s->n_label++;
	return l;
}

static int pp_sample(struct pp *b, size_t i)
{
	const struct prof_sample *ps = &b->p->samples[i];
	pb_sample *s = &b->samples[i];

	perftools__profiles__sample__init(s);
	s->location_id = &b->loc_ids[b->nloc_ids];
	for (uint32_t j = 0; j < ps->nframes; j++) {
		if (ps->frames[j] >= b->p->nframes) {
			errno = EINVAL;
			return -1;
		}
		s->location_id[j] = (uint64_t)ps->frames[j] + 1;
	}
	s->n_location_id = ps->nframes;
	b->nloc_ids += ps->nframes;

	s->value = &b->values[b->nvalues * i];
	s->value[0] = (int64_t)ps->count;
	s->value[1] = (int64_t)ps->value;
	if (b->nvalues > 2)
		s->value[2] = (int64_t)ps->stall_ns;
	s->n_value = b->nvalues;

	s->label = &b->label_ptrs[b->nlabels];
	pp_label(b, s, STR_PID)->num = ps->pid;
	pp_label(b, s, STR_THREAD_ID)->num = ps->tid;
	pp_label(b, s, STR_THREAD_NAME)->str = pp_str(b, ps->thread_name);
	if (ps->reason[0])
		pp_label(b, s, STR_REASON)->str = pp_str(b, ps->reason);
	if (ps->task && ps->task[0])
		pp_label(b, s, STR_TASK)->str = pp_str(b, ps->task);
	if (ps->task_parents && ps->task_parents[0])
		pp_label(b, s, STR_TASK_PARENTS)->str = pp_str(b, ps->task_parents);
	if (ps->endpoint && ps->endpoint[0])
		pp_label(b, s, STR_ENDPOINT)->str = pp_str(b, ps->endpoint);
	if (ps->sql && ps->sql[0])
		pp_label(b, s, STR_SQL)->str = pp_str(b, ps->sql);
	const struct prof_process *pr = profile_process(b->p, ps->pid);
	if (pr && pr->ns_pid != pr->pid)
		pp_label(b, s, STR_CONTAINER_PID)->num = pr->ns_pid;
	if (pr && pr->cgroup[0])
		pp_label(b, s, STR_CGROUP)->str = pp_str(b, pr->cgroup);
	if (pr && pr->root[0])
		pp_label(b, s, STR_ROOT)->str = pp_str(b, pr->root);
	if (pr && pr->cmdline && pr->cmdline[0])
		pp_label(b, s, STR_CMDLINE)->str = pp_str(b, pr->cmdline);

	b->sample_ptrs[i] = s;
	return 0;
}

static void pp_free(struct pp *b)
{
	free(b->strs);
	htab_free(&b->str_ht);
	free(b->funcs);
	free(b->func_ptrs);
	htab_free(&b->func_ht);
	free(b->maps);
	free(b->map_ptrs);
	htab_free(&b->map_ht);
	free(b->locs);
	free(b->loc_ptrs);
	free(b->lines);
	free(b->line_ptrs);
	free(b->samples);
	free(b->sample_ptrs);
	free(b->loc_ids);
	free(b->values);
	free(b->labels);
	free(b->label_ptrs);
}

/* calloc that never returns NULL for n == 0, so NULL always means ENOMEM. */
static void *xcalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static int pp_alloc(struct pp *b)
{
	const struct profile *p = b->p;
	size_t nf = p->nframes, ns = p->nsamples, nids = 0;
	size_t max_strs = NR_FIXED_STRS + STRS_HEADER + STRS_PER_FRAME * nf + STRS_PER_SAMPLE * ns;

	for (size_t i = 0; i < ns; i++)
		nids += p->samples[i].nframes;
	/* Indices are stored as uint32_t + 1 in the hash tables. */
	if (max_strs >= UINT32_MAX || nf >= UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	b->strs = xcalloc(max_strs, sizeof(*b->strs));
	b->funcs = xcalloc(nf, sizeof(*b->funcs));
	b->func_ptrs = xcalloc(nf, sizeof(*b->func_ptrs));
	b->maps = xcalloc(nf, sizeof(*b->maps));
	b->map_ptrs = xcalloc(nf, sizeof(*b->map_ptrs));
	b->locs = xcalloc(nf, sizeof(*b->locs));
	b->loc_ptrs = xcalloc(nf, sizeof(*b->loc_ptrs));
	b->lines = xcalloc(nf, sizeof(*b->lines));
	b->line_ptrs = xcalloc(nf, sizeof(*b->line_ptrs));
	b->samples = xcalloc(ns, sizeof(*b->samples));
	b->sample_ptrs = xcalloc(ns, sizeof(*b->sample_ptrs));
	b->loc_ids = xcalloc(nids, sizeof(*b->loc_ids));
	b->nvalues = profile_has_stalls(b->p) ? 3 : 2;
	b->values = xcalloc(ns, b->nvalues * sizeof(*b->values));
	b->labels = xcalloc(ns, LABELS_PER_SAMPLE * sizeof(*b->labels));
	b->label_ptrs = xcalloc(ns, LABELS_PER_SAMPLE * sizeof(*b->label_ptrs));
	if (!b->strs || !b->funcs || !b->func_ptrs || !b->maps || !b->map_ptrs || !b->locs ||
	    !b->loc_ptrs || !b->lines || !b->line_ptrs || !b->samples || !b->sample_ptrs ||
	    !b->loc_ids || !b->values || !b->labels || !b->label_ptrs) {
		errno = ENOMEM;
		return -1;
	}
	if (htab_init(&b->str_ht, max_strs) || htab_init(&b->func_ht, nf) ||
	    htab_init(&b->map_ht, nf)) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void pp_fixed_strs(struct pp *b)
{
	static const char *const fixed[NR_FIXED_STRS] = {
		[STR_EMPTY] = "",
		[STR_SAMPLES] = "samples",
		[STR_COUNT] = "count",
		[STR_PID] = "pid",
		[STR_THREAD_ID] = "thread_id",
		[STR_THREAD_NAME] = "thread_name",
		[STR_REASON] = "reason",
		[STR_CONTAINER_PID] = "container_pid",
		[STR_CGROUP] = "cgroup",
		[STR_ROOT] = "root",
		[STR_CMDLINE] = "cmdline",
		[STR_KERNEL] = KERNEL_MAPPING,
		[STR_STALL] = "stall",
		[STR_NANOSECONDS] = "nanoseconds",
		[STR_TASK] = "task",
		[STR_TASK_PARENTS] = "task_parents",
		[STR_ENDPOINT] = "endpoint",
		[STR_SQL] = "sql",
	};

	/* Distinct literals: each lands at its enum index. */
	for (size_t i = 0; i < NR_FIXED_STRS; i++)
		pp_str(b, fixed[i]);
}

static void pp_header(struct pp *b)
{
	const struct profile *p = b->p;
	pb_profile *m = &b->msg;
	int64_t type = pp_str(b, p->value_type);
	int64_t unit = pp_str(b, p->value_unit);

	for (size_t i = 0; i < 3; i++) {
		perftools__profiles__value_type__init(&b->sample_type[i]);
		b->sample_type_ptrs[i] = &b->sample_type[i];
	}
	b->sample_type[0].type = STR_SAMPLES;
	b->sample_type[0].unit = STR_COUNT;
	b->sample_type[1].type = type;
	b->sample_type[1].unit = unit;
	b->sample_type[2].type = STR_STALL; /* event loops' stalls, by stack */
	b->sample_type[2].unit = STR_NANOSECONDS;
	perftools__profiles__value_type__init(&b->period_type);
	b->period_type.type = type;
	b->period_type.unit = unit;

	m->n_sample_type = b->nvalues;
	m->sample_type = b->sample_type_ptrs;
	m->period_type = &b->period_type;
	m->period = (int64_t)p->period_ns;
	m->time_nanos = (int64_t)p->start_ns;
	m->duration_nanos = (int64_t)p->duration_ns;
	m->default_sample_type = type;
}

static int pp_build(struct pp *b)
{
	const struct profile *p = b->p;
	pb_profile *m = &b->msg;

	perftools__profiles__profile__init(m);
	pp_fixed_strs(b);
	pp_header(b);
	for (size_t i = 0; i < p->nframes; i++)
		pp_location(b, i);
	for (size_t i = 0; i < p->nsamples; i++) {
		if (pp_sample(b, i))
			return -1;
	}
	m->n_sample = p->nsamples;
	m->sample = b->sample_ptrs;
	m->n_mapping = b->nmaps;
	m->mapping = b->map_ptrs;
	m->n_location = p->nframes;
	m->location = b->loc_ptrs;
	m->n_function = b->nfuncs;
	m->function = b->func_ptrs;
	/* protobuf-c only reads the table; the strings are never written. */
	m->n_string_table = b->nstrs;
	m->string_table = (char **)b->strs;
	return 0;
}

static int gzip_buf(const uint8_t *in, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream zs;
	unsigned char *buf = NULL;
	uLong cap;
	int ret = -1;

	if (len > UINT_MAX) {
		errno = EFBIG;
		return -1;
	}
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		errno = ENOMEM;
		return -1;
	}
	cap = deflateBound(&zs, (uLong)len);
	if (cap > UINT_MAX) {
		errno = EFBIG;
		goto out;
	}
	buf = malloc(cap);
	if (!buf)
		goto out;
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
		errno = EIO;
		goto out;
	}
	*out = buf;
	*outlen = zs.total_out;
	buf = NULL;
	ret = 0;
out:
	deflateEnd(&zs);
	free(buf);
	return ret;
}

int export_pprof_buf(const struct profile *p, unsigned char **buf, size_t *len)
{
	struct pp b;
	uint8_t *packed = NULL;
	size_t n;
	int ret = -1;

	if (!p || !buf || !len) {
		errno = EINVAL;
		return -1;
	}
	memset(&b, 0, sizeof(b));
	b.p = p;
	if (pp_alloc(&b) || pp_build(&b))
		goto out;
	n = perftools__profiles__profile__get_packed_size(&b.msg);
	packed = malloc(n ? n : 1);
	if (!packed)
		goto out;
	perftools__profiles__profile__pack(&b.msg, packed);
	ret = gzip_buf(packed, n, buf, len);
out:
	free(packed);
	pp_free(&b);
	return ret;
}

int export_pprof(const struct profile *p, FILE *out)
{
	unsigned char *buf;
	size_t len;

	if (!out) {
		errno = EINVAL;
		return -1;
	}
	if (export_pprof_buf(p, &buf, &len))
		return -1;
	errno = 0;
	fwrite(buf, 1, len, out);
	int ret = export_finish(out);
	free(buf);
	return ret;
}
