/* dbprobes.c - uprobes on the database drivers a process maps. */
#include "sampling/dbprobes.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "native/drivers.h"
#include "native/elfsyms.h"
#include "sys/log.h"
#include "sys/procmaps.h"

#define MAX_DB_SYMBOLS 32

/* The file offsets of drv's entry points in the ELF file fd, and kinds. */
static size_t entry_points(int fd, const struct db_driver *drv, struct bpfs_db_point *pts)
{
	struct elf_file ef;
	size_t n = 0;
	if (elf_file_load(fd, &ef))
		return 0;
	for (size_t i = 0; drv->entries[i].symbol && n < MAX_DB_SYMBOLS; i++) {
		uint64_t a = elf_file_symbol(&ef, drv->entries[i].symbol);
		if (a && elf_file_offset(&ef, a, &pts[n].offset) == 0)
			pts[n++].kind = drv->entries[i].kind;
	}
	elf_file_free(&ef);
	return n;
}

static void probe_mapping(struct dbprobes *d, struct bpf_session *s, const struct procmaps *pm,
			  const struct mapping *m, const struct db_driver *drv)
{
	dev_t dev = makedev(m->dev_major, m->dev_minor);
	if (bpfs_db_attached(s, dev, (ino_t)m->inode))
		return;
	struct bpfs_db_point pts[MAX_DB_SYMBOLS];
	size_t n = 0;
	int fd = procmaps_open(pm, m);
	if (fd >= 0) {
		n = entry_points(fd, drv, pts);
		close(fd);
	}
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pm->pid, m->path);
	if (n && bpfs_attach_db(s, path, dev, (ino_t)m->inode, pts, n) == 0) {
		d->libraries++;
		log_debug("pid %d: %zu uprobes on %s (%s)", (int)pm->pid, n, m->path, drv->clients);
		return;
	}
	d->failures++;
	log_info("pid %d: database time in %s not measured: %s", (int)pm->pid, m->path,
		 n ? "its uprobes could not be attached" : "no entry point found in it");
	bpfs_attach_db(s, path, dev, (ino_t)m->inode, NULL, 0); /* not tried again */
}

static void scan(struct dbprobes *d, struct bpf_session *s, pid_t pid)
{
	struct procmaps pm;
	if (procmaps_read(pid, &pm))
		return;
	for (size_t i = 0; i < pm.n; i++) {
		const struct mapping *m = &pm.m[i];
		const struct db_driver *drv;
		if (m->exec && m->path[0] == '/' && (drv = db_driver_of(m->path)))
			probe_mapping(d, s, &pm, m, drv);
	}
	procmaps_free(&pm);
}

/* PYBPF_DB_PROBES=0 in the environment: no uprobes (what they cost,
 * measured by bench/bench_db.py against the same capture without them). */
static bool probes_off(void)
{
	const char *e = getenv("PYBPF_DB_PROBES");
	return e && !strcmp(e, "0");
}

int dbprobes_add(struct dbprobes *d, struct bpf_session *s, pid_t pid, uint64_t now_ns)
{
	dbprobes_remove(d, pid);
	if (d->off || probes_off())
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 16;
		struct dbp_proc *p = realloc(d->procs, cap * sizeof(*p));
		if (!p)
			return -1;
		d->procs = p;
		d->cap = cap;
	}
	scan(d, s, pid);
	d->procs[d->n++] = (struct dbp_proc){pid, now_ns + 500000000ULL, 500000000ULL};
	return 0;
}

void dbprobes_remove(struct dbprobes *d, pid_t pid)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->procs[i].pid == pid) {
			d->procs[i] = d->procs[--d->n];
			return;
		}
}

void dbprobes_tick(struct dbprobes *d, struct bpf_session *s, uint64_t now_ns)
{
	for (size_t i = 0; i < d->n; i++) {
		struct dbp_proc *p = &d->procs[i];
		if (now_ns < p->next_ns)
			continue;
		scan(d, s, p->pid);
		p->step_ns =
			p->step_ns * 2 > DBPROBES_RESCAN_NS ? DBPROBES_RESCAN_NS : p->step_ns * 2;
		p->next_ns = now_ns + p->step_ns;
	}
}

void dbprobes_free(struct dbprobes *d)
{
	free(d->procs);
	memset(d, 0, sizeof(*d));
}
