/* requests.c - endpoints' time by what it went to, and the database
 * statements by total time. */
#include "report/requests.h"

#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "sys/textesc.h"

/* What an endpoint's time went to: a wall sample's reason, grouped.  The
 * run queue is its own: time a busy host, not the view, took. */
enum part { P_CPU, P_GIL, P_DB, P_IO, P_LOCK, P_SLEEP, P_RUNQ, P_OTHER, P__COUNT };
static const char *const part_names[P__COUNT] = {"cpu",	 "gil",	  "db",	      "io",
						 "lock", "sleep", "runqueue", "other"};

static enum part part_of(const char *reason)
{
	static const struct {
		const char *reason;
		enum part part;
	} map[] = {{"cpu", P_CPU}, {"gil", P_GIL},   {"db", P_DB},	 {"socket", P_IO},
		   {"file", P_IO}, {"lock", P_LOCK}, {"sleep", P_SLEEP}, {"runqueue", P_RUNQ}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(reason, map[i].reason))
			return map[i].part;
	return P_OTHER;
}

/* Requests by what they are named: their route's endpoint, else the route. */
struct reqs {
	const char *name;
	size_t count, errors; /* errors: status 5xx */
	double p50_ns, p99_ns, max_ns;
};

struct endpoint {
	const char *name; /* interned in the profile, or a reqs' name */
	double ns[P__COUNT], total;
	const struct reqs *reqs; /* NULL: none seen */
};

struct statement {
	uint32_t sql;
	char text[PYBPF_SQL_MAX];
	struct sql_stat st;		 /* every process's */
	uint64_t hist[GIL_HIST_BUCKETS]; /* ... and their lengths */
	double p50_ns, p99_ns;
	const char *endpoint; /* the one it waited most under, "" none */
};

struct collect {
	struct endpoint *eps;
	size_t neps;
	struct statement *sts;
	size_t nsts, cap;
	struct bpf_session *bpf;
	struct reqs *reqs;
	size_t nreqs;
};

static struct endpoint *endpoint_of(struct collect *c, const char *name)
{
	for (size_t i = 0; i < c->neps; i++)
		if (c->eps[i].name == name || !strcmp(c->eps[i].name, name))
			return &c->eps[i];
	memset(&c->eps[c->neps], 0, sizeof(c->eps[0]));
	c->eps[c->neps].name = name;
	return &c->eps[c->neps++];
}

/* Its p50 and p99: a bucket's upper edge, at most the longest call. */
static void statement_latency(struct statement *s)
{
	s->p50_ns = report_percentile_ns(s->hist, 0.5);
	s->p99_ns = report_percentile_ns(s->hist, 0.99);
	if (s->p50_ns > (double)s->st.max_ns)
		s->p50_ns = (double)s->st.max_ns;
	if (s->p99_ns > (double)s->st.max_ns)
		s->p99_ns = (double)s->st.max_ns;
}

static int add_statement(void *ctx, uint32_t sql, const struct sql_stat *st,
			 const uint64_t hist[GIL_HIST_BUCKETS])
{
	struct collect *c = ctx;
	/* a template is one hash in every process: a tree's add up */
	for (size_t i = 0; i < c->nsts; i++) {
		struct statement *s = &c->sts[i];
		if (s->sql != sql)
			continue;
		s->st.calls += st->calls;
		s->st.ns += st->ns;
		if (st->max_ns > s->st.max_ns)
			s->st.max_ns = st->max_ns;
		for (int b = 0; b < GIL_HIST_BUCKETS; b++)
			s->hist[b] += hist[b];
		return 0;
	}
	if (c->nsts == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct statement *n = realloc(c->sts, cap * sizeof(*n));
		if (!n)
			return -1;
		c->sts = n;
		c->cap = cap;
	}
	struct statement *s = &c->sts[c->nsts++];
	memset(s, 0, sizeof(*s));
	s->sql = sql;
	s->st = *st;
	memcpy(s->hist, hist, sizeof(s->hist));
	if (bpfs_sql_text(c->bpf, sql, s->text, sizeof(s->text)))
		snprintf(s->text, sizeof(s->text), "?");
	s->endpoint = "";
	return 0;
}

static int by_total(const void *a, const void *b)
{
	double x = ((const struct endpoint *)a)->total, y = ((const struct endpoint *)b)->total;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_ns(const void *a, const void *b)
{
	uint64_t x = ((const struct statement *)a)->st.ns, y = ((const struct statement *)b)->st.ns;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Each statement's endpoint: the one whose samples spent longest in it
 * (the samples' sql and endpoint are interned: pairs of pointers). */
static int statement_endpoints(struct collect *c, const struct profile *p)
{
	struct pair {
		const char *sql, *endpoint;
		double ns;
	} *pairs = calloc(p->nsamples ? p->nsamples : 1, sizeof(*pairs));
	size_t n = 0;
	if (!pairs)
		return -1;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *a = &p->samples[i];
		size_t j = 0;
		if (!a->sql || !a->sql[0] || !a->endpoint[0])
			continue;
		while (j < n && (pairs[j].sql != a->sql || pairs[j].endpoint != a->endpoint))
			j++;
		if (j == n)
			pairs[n++] = (struct pair){a->sql, a->endpoint, 0};
		pairs[j].ns += (double)a->value;
	}
	for (size_t i = 0; i < c->nsts; i++) {
		double best = 0;
		for (size_t j = 0; j < n; j++)
			if (pairs[j].ns > best && !strcmp(pairs[j].sql, c->sts[i].text)) {
				best = pairs[j].ns;
				c->sts[i].endpoint = pairs[j].endpoint;
			}
	}
	free(pairs);
	return 0;
}

static int by_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Nearest rank of sorted v[n]. */
static double rank(const uint64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);
	return (double)v[i ? (i > n ? n : i) - 1 : 0];
}

/* The requests grouped by name, each group's latency percentiles. */
static int collect_requests(struct collect *c, const struct http_log *l)
{
	if (!l || !l->n)
		return 0;
	/* each route's group (routes are few), then the requests in one pass:
	 * each group's latencies a slice of lat, from at[] */
	size_t *group = calloc(l->nroutes, sizeof(*group));
	size_t *at = calloc(l->nroutes + 1, sizeof(*at));
	uint64_t *lat = malloc(l->n * sizeof(*lat));
	c->reqs = calloc(l->nroutes, sizeof(*c->reqs));
	int ret = -1;
	if (!group || !at || !lat || !c->reqs)
		goto out;
	for (size_t i = 0; i < l->nroutes; i++) {
		const char *name =
			l->routes[i].endpoint[0] ? l->routes[i].endpoint : l->routes[i].route;
		size_t j = 0;
		while (j < c->nreqs && strcmp(c->reqs[j].name, name))
			j++;
		if (j == c->nreqs)
			c->reqs[c->nreqs++].name = name;
		group[i] = j;
	}
	for (size_t k = 0; k < l->n; k++)
		c->reqs[group[l->v[k].route]].count++;
	for (size_t g = 0; g < c->nreqs; g++)
		at[g + 1] = at[g] + c->reqs[g].count;
	for (size_t k = 0; k < l->n; k++) {
		const struct http_req *r = &l->v[k];
		struct reqs *g = &c->reqs[group[r->route]];
		lat[at[group[r->route]]++] = r->end > r->start ? r->end - r->start : 0;
		g->errors += http_server_error(r->status);
	}
	for (size_t g = 0, from = 0; g < c->nreqs; from += c->reqs[g++].count) {
		struct reqs *q = &c->reqs[g];
		uint64_t *v = lat + from;
		qsort(v, q->count, sizeof(*v), by_u64);
		q->p50_ns = rank(v, q->count, 0.5);
		q->p99_ns = rank(v, q->count, 0.99);
		q->max_ns = q->count ? (double)v[q->count - 1] : 0;
	}
	ret = 0;
out:
	free(group);
	free(at);
	free(lat);
	return ret;
}

static int collect(struct collect *c, const struct requests_input *in)
{
	const struct profile *p = in->p;
	size_t routes = in->http ? in->http->nroutes : 0;
	c->eps = calloc(p->nsamples + routes + 1, sizeof(*c->eps));
	if (!c->eps)
		return -1;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct prof_sample *s = &p->samples[i];
		if (!s->endpoint || !s->endpoint[0])
			continue;
		struct endpoint *e = endpoint_of(c, s->endpoint);
		e->ns[part_of(s->reason)] += (double)s->value;
		e->total += (double)s->value;
	}
	if (collect_requests(c, in->http))
		return -1;
	for (size_t i = 0; i < c->nreqs; i++)
		endpoint_of(c, c->reqs[i].name)->reqs = &c->reqs[i];
	qsort(c->eps, c->neps, sizeof(*c->eps), by_total);
	c->bpf = in->bpf;
	for (size_t i = 0; i < (in->npids ? in->npids : 1); i++)
		if (bpfs_sql_stats(in->bpf, in->npids ? in->pids[i] : in->pp->pid, add_statement,
				   c))
			return -1;
	for (size_t i = 0; i < c->nsts; i++)
		statement_latency(&c->sts[i]);
	if (c->nsts) /* none: no array at all */
		qsort(c->sts, c->nsts, sizeof(*c->sts), by_ns);
	return statement_endpoints(c, p);
}

static double pct(double a, double b)
{
	return b > 0 ? 100.0 * a / b : 0;
}

static void print_json(const struct collect *c, const struct requests_input *in, FILE *out)
{
	double all = 0;
	for (size_t i = 0; i < c->neps; i++)
		all += c->eps[i].total;
	uint64_t st[STAT__COUNT] = {0};
	bpfs_stats(in->bpf, st);
	fprintf(out, "{\"pid\": %d, \"pids\": [", (int)in->pp->pid);
	for (size_t i = 0; i < (in->npids ? in->npids : 1); i++)
		fprintf(out, "%s%d", i ? ", " : "", (int)(in->npids ? in->pids[i] : in->pp->pid));
	fprintf(out,
		"], \"seconds\": %.3f, \"sql_text\": %s, \"db_calls\": %llu, "
		"\"db_calls_untracked\": %llu, \"endpoints\": [",
		in->seconds, in->sql_text ? "true" : "false", (unsigned long long)st[STAT_DB_CALLS],
		(unsigned long long)st[STAT_DROP_DB]);
	for (size_t i = 0; i < c->neps; i++) {
		const struct endpoint *e = &c->eps[i];
		fprintf(out, "%s\n {\"endpoint\": ", i ? "," : "");
		json_write_string(out, e->name);
		fprintf(out, ", \"seconds\": %.6f, \"share_pct\": %.2f", e->total / 1e9,
			pct(e->total, all));
		const struct reqs *r = e->reqs;
		if (in->http)
			fprintf(out,
				", \"requests\": %zu, \"requests_per_s\": %.2f, \"errors_5xx\": "
				"%zu, "
				"\"latency_ms_p50\": %.3f, \"latency_ms_p99\": %.3f, "
				"\"latency_ms_max\": %.3f",
				r ? r->count : 0,
				r && in->seconds > 0 ? (double)r->count / in->seconds : 0,
				r ? r->errors : 0, r ? r->p50_ns / 1e6 : 0, r ? r->p99_ns / 1e6 : 0,
				r ? r->max_ns / 1e6 : 0);
		for (int k = 0; k < P__COUNT; k++)
			fprintf(out, ", \"%s_pct\": %.2f", part_names[k], pct(e->ns[k], e->total));
		fputc('}', out);
	}
	fprintf(out, "\n], \"http\": ");
	if (in->http) {
		const struct http_log *l = in->http;
		fprintf(out,
			"{\"requests\": %zu, \"requests_lost\": %llu, \"unanswered\": %llu, "
			"\"routes\": [",
			l->n, (unsigned long long)(l->dropped + st[STAT_DROP_HTTP]),
			(unsigned long long)st[STAT_HTTP_UNANSWERED]);
		size_t *per = calloc(l->nroutes ? l->nroutes : 1, sizeof(*per));
		for (size_t k = 0; per && k < l->n; k++)
			per[l->v[k].route]++;
		for (size_t i = 0; i < l->nroutes; i++) {
			size_t n = per ? per[i] : 0;
			fprintf(out, "%s\n {\"route\": ", i ? "," : "");
			json_write_string(out, l->routes[i].route);
			fprintf(out, ", \"endpoint\": ");
			json_write_string(out, l->routes[i].endpoint);
			fprintf(out, ", \"requests\": %zu}", n);
		}
		free(per);
		fprintf(out, "\n]}");
	} else {
		fprintf(out, "{\"measured\": false, \"why\": ");
		json_write_string(out, in->http_why ? in->http_why : "");
		fputc('}', out);
	}
	fprintf(out, ", \"statements\": %zu, \"sql\": [", c->nsts);
	for (size_t i = 0; i < c->nsts && i < REQUESTS_TOP_SQL; i++) {
		const struct statement *s = &c->sts[i];
		fprintf(out, "%s\n {\"statement\": ", i ? "," : "");
		json_write_string(out, s->text);
		fprintf(out,
			", \"count\": %llu, \"total_ms\": %.3f, \"p50_ms\": %.3f, \"p99_ms\": "
			"%.3f, "
			"\"max_ms\": %.3f, \"endpoint\": ",
			(unsigned long long)s->st.calls, (double)s->st.ns / 1e6, s->p50_ns / 1e6,
			s->p99_ns / 1e6, (double)s->st.max_ns / 1e6);
		json_write_string(out, s->endpoint);
		fputc('}', out);
	}
	fprintf(out, "\n]}\n");
}

static void print_text(const struct collect *c, const struct requests_input *in, FILE *out)
{
	if (in->npids > 1)
		fprintf(out,
			"Endpoints of pid %d and its subprocesses (%zu Python processes) over "
			"%.1f s (wall time of the threads in each view):\n",
			(int)in->pp->pid, in->npids, in->seconds);
	else
		fprintf(out,
			"Endpoints of pid %d over %.1f s (wall time of the threads in each "
			"view):\n",
			(int)in->pp->pid, in->seconds);
	if (!c->neps)
		fprintf(out, "  (no sample in a view: not a web process, or no request)\n");
	if (in->http && in->http->n)
		fprintf(out, "  %-40s %8s %9s %9s %9s  %s\n", "endpoint", "requests", "p50 ms",
			"p99 ms", "max ms", "threads' time");
	else if (!in->http)
		fprintf(out, "  (requests not measured: %s)\n", in->http_why ? in->http_why : "");
	for (size_t i = 0; i < c->neps; i++) {
		const struct endpoint *e = &c->eps[i];
		const struct reqs *r = e->reqs;
		fprintf(out, "  %-40s ", e->name);
		if (in->http && in->http->n)
			fprintf(out, "%8zu %9.2f %9.2f %9.2f  ", r ? r->count : 0,
				r ? r->p50_ns / 1e6 : 0, r ? r->p99_ns / 1e6 : 0,
				r ? r->max_ns / 1e6 : 0);
		fprintf(out, "%8.3f s ", e->total / 1e9);
		for (int k = 0; k < P__COUNT; k++)
			if (e->ns[k] > 0)
				fprintf(out, " %s %.0f%%", part_names[k], pct(e->ns[k], e->total));
		fputc('\n', out);
	}
	if (!in->sql_text) {
		fprintf(out, "\nStatements: not read (sql_text off)\n");
		return;
	}
	fprintf(out, "\nStatements by total time (%zu):\n", c->nsts);
	fprintf(out, "  %8s %10s %9s %9s  %-30s %s\n", "count", "total ms", "p50 ms", "p99 ms",
		"endpoint", "statement");
	for (size_t i = 0; i < c->nsts && i < REQUESTS_TOP_SQL; i++) {
		const struct statement *s = &c->sts[i];
		fprintf(out, "  %8llu %10.1f %9.2f %9.2f  %-30s %s\n",
			(unsigned long long)s->st.calls, (double)s->st.ns / 1e6, s->p50_ns / 1e6,
			s->p99_ns / 1e6, s->endpoint[0] ? s->endpoint : "-", s->text);
	}
}

int report_requests(const struct requests_input *in, bool json, FILE *out)
{
	struct collect c = {0};
	int ret = collect(&c, in);
	if (ret == 0)
		(json ? print_json : print_text)(&c, in, out);
	free(c.eps);
	free(c.sts);
	free(c.reqs);
	return ret;
}
