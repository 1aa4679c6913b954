/* natsym.c - native instruction pointers of a process to object and symbol. */
#include "native/natsym.h"

#include <string.h>

#include "native/elfcache.h"

#define NATSYM_REREAD_S 5

int natsym_open(struct natsym_proc *np, pid_t pid, struct elfcache *cache)
{
	memset(np, 0, sizeof(*np));
	np->pid = pid;
	np->cache = cache;
	np->read_at = time(NULL);
	return procmaps_read(pid, &np->pm);
}

void natsym_close(struct natsym_proc *np)
{
	procmaps_free(&np->pm);
}

static const struct mapping *find_exec(struct natsym_proc *np, uint64_t ip)
{
	const struct mapping *m = procmaps_find(&np->pm, ip);
	if (m && m->exec)
		return m;
	/* an address outside every mapping is most often a native unwind gone
	 * astray, not a new library: re-read the maps at most every few seconds */
	time_t now = time(NULL);
	if (now - np->read_at < NATSYM_REREAD_S)
		return NULL;
	struct procmaps fresh;
	if (procmaps_read(np->pid, &fresh))
		return NULL;
	procmaps_free(&np->pm);
	np->pm = fresh;
	np->read_at = now;
	m = procmaps_find(&np->pm, ip);
	return m && m->exec ? m : NULL;
}

int natsym_resolve(struct natsym_proc *np, uint64_t ip, struct natsym *out)
{
	const struct mapping *m = find_exec(np, ip);
	memset(out, 0, sizeof(*out));
	if (!m)
		return -1;
	out->module = m->path[0] ? m->path : "[anon]";
	const struct elf_file *ef = elfcache_get(np->cache, &np->pm, m);
	uint64_t bias;
	if (!ef || elfcache_bias(ef, m, &bias))
		return 0;
	out->vaddr = ip - bias;
	const struct elf_sym *s = elf_file_func_at(ef, out->vaddr);
	out->name = s ? s->name : NULL;
	if (!s && elf_file_fde_start(ef, out->vaddr, &out->func))
		out->func = 0;
	return 0;
}
