/* dispatch.h - the view a request runs, from its stack: the frame a web
 * framework dispatched to, found by a table of dispatch points (dispatch.c,
 * one entry per framework and server: data, like the CPython layouts). */
#ifndef PYBPF_DISPATCH_H
#define PYBPF_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>

/* A Python frame as the table sees it: its code's qualified name (3.11+;
 * before, co_name) and its file. */
struct dispatch_frame {
	const char *name;
	const char *file;
};

/* The index in f (n Python frames, leaf first) of the view the leafmost
 * dispatch point called: the first frame above it that is neither the
 * framework's own (its decorators, class-based views' dispatch) nor the
 * standard library's, provided it is no other framework's or server's.
 * A framework's point wins over a server's (gunicorn, uvicorn, wsgiref:
 * there, the application callable), and a stack inside a framework but in
 * no view (its middleware, what it does after the view returned) has
 * none.  -1 when there is none; *framework names the entry's framework
 * otherwise. */
int dispatch_view(const struct dispatch_frame *f, size_t n, const char **framework);

/* Whether dir (a directory in the target's file system) is a package: it
 * holds an __init__.py. */
typedef bool (*dispatch_is_package_fn)(void *ctx, const char *dir);

/* The endpoint's name: the module of f's file (its directories up to the
 * first that is no package, dotted) and its name, "shop.views.checkout".
 * A file that is no path ("<string>") gives its name alone.  out is always
 * terminated. */
void dispatch_endpoint_name(const struct dispatch_frame *f, dispatch_is_package_fn is_package,
			    void *ctx, char *out, size_t len);

#define DISPATCH_NAME_MAX 256

#endif
