/* dispatch.c - the table of the points where web frameworks and servers
 * call a request's view, and the view of a stack found from it. */
#include "python/dispatch.h"

#include <stdio.h>
#include <string.h>

/* Where a framework (or a server) calls the code that serves a request. */
struct dispatch_point {
	const char *framework;
	const char *file; /* the end of the frame's file */
	const char *func; /* its qualified name (before 3.11 the last part is matched) */
	bool server;	  /* a server's: the callee is the application; a framework's point wins */
	/* the packages whose frames stand between the point and the view:
	 * decorators, views' dispatch, sync/async glue (the stdlib's frames,
	 * functools' wrappers or asyncio's checks, are never the view) */
	const char *const *own;
};

static const char *const DJANGO[] = {"django", "asgiref", NULL};
static const char *const FLASK[] = {"flask", "werkzeug", NULL};
static const char *const FASTAPI[] = {"fastapi", "starlette", "anyio", NULL};
static const char *const STARLETTE[] = {"starlette", "anyio", NULL};
static const char *const GUNICORN[] = {"gunicorn", NULL};
static const char *const WERKZEUG[] = {"werkzeug", NULL};
static const char *const UVICORN[] = {"uvicorn", "h11", "httptools", NULL};
static const char *const NONE[] = {NULL};

static const struct dispatch_point POINTS[] = {
	/* frameworks: the view */
	{"django", "django/core/handlers/base.py", "BaseHandler._get_response", false, DJANGO},
	{"django", "django/core/handlers/base.py", "BaseHandler._get_response_async", false,
	 DJANGO},
	{"flask", "flask/app.py", "Flask.dispatch_request", false, FLASK},
	{"fastapi", "fastapi/routing.py", "run_endpoint_function", false, FASTAPI},
	{"starlette", "starlette/routing.py", "Route.handle", false, STARLETTE},
	/* servers: the WSGI or ASGI application callable */
	{"wsgi", "gunicorn/workers/sync.py", "SyncWorker.handle_request", true, GUNICORN},
	{"wsgi", "gunicorn/workers/gthread.py", "ThreadWorker.handle_request", true, GUNICORN},
	{"wsgi", "wsgiref/handlers.py", "BaseHandler.run", true, NONE},
	{"wsgi", "werkzeug/serving.py", "WSGIRequestHandler.run_wsgi.<locals>.execute", true,
	 WERKZEUG},
	{"asgi", "uvicorn/protocols/http/h11_impl.py", "RequestResponseCycle.run_asgi", true,
	 UVICORN},
	{"asgi", "uvicorn/protocols/http/httptools_impl.py", "RequestResponseCycle.run_asgi", true,
	 UVICORN},
};

/* Every package above: past a point's own frames, a frame of one of these
 * is no view (Django's WSGIHandler under gunicorn: Django's point finds its
 * view, or there is none; uvicorn's send under Starlette's response;
 * FastAPI's response encoding under Starlette's Route.handle, where
 * FastAPI's own point is not on the stack). */
static const char *const *const KNOWN[] = {DJANGO, FLASK, FASTAPI, GUNICORN, UVICORN};

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && !strcmp(s + n - m, tail) && (n == m || s[n - m - 1] == '/');
}

static bool name_is(const char *name, const char *func)
{
	if (!strcmp(name, func))
		return true;
	/* co_name (3.9, 3.10): the qualified name's last part */
	const char *last = strrchr(func, '.');
	return !strchr(name, '.') && last && !strcmp(last + 1, name);
}

/* Whether the directory that ends at end (exclusive) in file is one
 * modules are imported from: site-/dist-packages or the stdlib's. */
static bool import_root(const char *file, const char *end)
{
	const char *start = end;
	while (start > file && start[-1] != '/')
		start--;
	size_t n = (size_t)(end - start);
	return (n > 9 && !memcmp(end - 9, "-packages", 9)) ||
	       (n >= 7 && !memcmp(start, "python3", 7));
}

/* Whether file is module mod's (a package's file, or mod.py), imported
 * from an import root: a user's own directory called "django" is not. */
static bool in_module(const char *file, const char *mod)
{
	size_t m = strlen(mod);
	for (const char *p = strchr(file, '/'); p; p = strchr(p + 1, '/')) {
		if (strncmp(p + 1, mod, m) || p == file)
			continue;
		const char *after = p + 1 + m;
		if ((*after == '/' || !strcmp(after, ".py")) && import_root(file, p))
			return true;
	}
	return false;
}

/* Whether file is the standard library's: below a python3 or python3.N
 * directory and no -packages one, or frozen ("<frozen abc>"). */
static bool in_stdlib(const char *file)
{
	if (!strncmp(file, "<frozen ", 8))
		return true;
	for (const char *p = strstr(file, "/python3"); p; p = strstr(p + 1, "/python3")) {
		const char *q = p + 8;
		if (*q == '.')
			for (q++; *q >= '0' && *q <= '9'; q++)
				;
		if (*q == '/' && !strstr(q, "-packages/"))
			return true;
	}
	return false;
}

static bool in_any(const char *file, const char *const *mods)
{
	for (; *mods; mods++)
		if (in_module(file, *mods))
			return true;
	return false;
}

static bool in_known(const char *file)
{
	for (size_t i = 0; i < sizeof(KNOWN) / sizeof(KNOWN[0]); i++)
		if (in_any(file, KNOWN[i]))
			return true;
	return false;
}

static const struct dispatch_point *point_of(const struct dispatch_frame *f)
{
	for (size_t i = 0; i < sizeof(POINTS) / sizeof(POINTS[0]); i++)
		if (ends_with(f->file, POINTS[i].file) && name_is(f->name, POINTS[i].func))
			return &POINTS[i];
	return NULL;
}

int dispatch_view(const struct dispatch_frame *f, size_t n, const char **framework)
{
	/* the leafmost framework point, else the leafmost server's */
	const struct dispatch_point *best = NULL;
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		const struct dispatch_point *p = point_of(&f[i]);
		if (p && (!best || (best->server && !p->server))) {
			best = p;
			at = i;
		}
		if (best && !best->server)
			break;
	}
	if (!best)
		return -1;
	for (size_t i = at; i-- > 0;) {
		if (in_stdlib(f[i].file) || in_any(f[i].file, best->own))
			continue;
		if (in_known(f[i].file))
			return -1;
		*framework = best->framework;
		return (int)i;
	}
	return -1;
}

void dispatch_endpoint_name(const struct dispatch_frame *f, dispatch_is_package_fn is_package,
			    void *ctx, char *out, size_t len)
{
	char dir[DISPATCH_NAME_MAX * 4];
	const char *base = strrchr(f->file, '/');
	if (!len)
		return;
	if (!base || f->file[0] != '/' || strlen(f->file) >= sizeof(dir)) {
		snprintf(out, len, "%s", f->name);
		return;
	}
	/* the module's parts, innermost first, then reversed into out */
	const char *parts[32];
	size_t lens[32], np = 0;
	size_t blen = strlen(base + 1);
	if (blen > 3 && !strcmp(base + 1 + blen - 3, ".py"))
		blen -= 3;
	if (!(blen == 8 && !memcmp(base + 1, "__init__", 8))) {
		parts[np] = base + 1;
		lens[np++] = blen;
	}
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - f->file), f->file);
	while (np < 32 && dir[0] && is_package(ctx, dir)) {
		char *slash = strrchr(dir, '/');
		if (!slash || !slash[1])
			break;
		parts[np] = f->file + (slash - dir) + 1;
		lens[np++] = strlen(slash + 1);
		*slash = 0;
	}
	size_t used = 0;
	out[0] = 0;
	for (size_t i = np; i-- > 0 && used < len;)
		used += (size_t)snprintf(out + used, len - used, "%.*s.", (int)lens[i], parts[i]);
	if (used < len)
		snprintf(out + used, len - used, "%s", f->name);
}
