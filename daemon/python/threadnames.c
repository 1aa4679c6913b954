/* threadnames.c - Python's thread names, from threading._active. */
#include "python/threadnames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "python/pyobject.h"

struct collect {
	struct pyobj_reader *r;
	struct pythread_name *out;
	size_t n, max;
	uint32_t want; /* stop once this thread is named; 0: every one */
};

static int one(void *ctx, uint64_t key, uint64_t thread)
{
	struct collect *c = ctx;
	int64_t ident, tid;
	uint64_t name, native;
	if (c->n == c->max)
		return 1;
	uint32_t t_id = !pyobj_attr(c->r, thread, "_native_id", &native) &&
					!pyobj_int(c->r, native, &tid) && tid > 0 &&
					tid <= UINT32_MAX
				? (uint32_t)tid
				: 0;
	/* looking for one thread: the others' names are not read */
	if (c->want && t_id != c->want)
		return 0;
	if (pyobj_int(c->r, key, &ident) || pyobj_attr(c->r, thread, "_name", &name))
		return 0; /* not a thread we can name: the others still */
	char *s = pyobj_str(c->r, name, PYTHREAD_NAME_MAX - 1);
	if (!s)
		return 0;
	struct pythread_name *t = &c->out[c->n++];
	t->ident = (uint64_t)ident;
	t->tid = t_id;
	snprintf(t->name, sizeof(t->name), "%s", s);
	free(s);
	return c->want && t->tid == c->want;
}

int pythread_names(const struct pyprocess *pp, uint64_t *cache, struct pythread_name *out,
		   size_t max, uint32_t want, unsigned *reads)
{
	struct pyobj_reader r;
	uint64_t active = cache ? *cache : 0;
	int ret = -1;
	if (pyobj_reader_init(&r, pp))
		goto out;
	/* about 23 reads an entry (its ident, two attributes, a str, an int:
	 * the class's shared keys remembered; 10 when looking for another
	 * thread), and sys.modules at first */
	r.limit = (unsigned)(max < 65536 ? max : 65536) * 48 + 1024;
	/* the registry is made once, at import, and changed in place */
	if (!active && pyobj_module_global(&r, "threading", "_active", &active))
		goto out;
	/* newest first: a thread new to the caller is near the end */
	struct collect c = {&r, out, 0, max, want};
	if (pyobj_dict_each_newest(&r, active, one, &c) >= 0)
		ret = (int)c.n;
	if (cache)
		*cache = ret >= 0 ? active : 0;
out:
	if (reads)
		*reads = r.reads;
	return ret;
}
