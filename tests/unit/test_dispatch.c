/* daemon/python/dispatch.c: the view a request's stack runs, from the table
 * of dispatch points, and its module-qualified name. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "python/dispatch.h"

#define DEB   "/usr/lib/python3/dist-packages/"
#define LIB   "/usr/lib/python3.11/"
#define PYENV "/root/.pyenv/versions/3.12.1/lib/python3.12/site-packages/"
#define N(a)  (sizeof(a) / sizeof((a)[0]))

static int view(const struct dispatch_frame *f, size_t n, const char *want_framework)
{
	const char *fw = NULL;
	int v = dispatch_view(f, n, &fw);
	if (v >= 0)
		assert_string_equal(fw, want_framework);
	return v;
}

static void test_django_under_gunicorn(void **state)
{
	(void)state;
	const struct dispatch_frame f[] = {
		{"Query.execute", DEB "django/db/models/sql/compiler.py"},
		{"checkout", "/srv/site/shop/views.py"},
		{"_view_wrapper", DEB "django/views/decorators/csrf.py"},
		{"BaseHandler._get_response", DEB "django/core/handlers/base.py"},
		{"MiddlewareMixin.__call__", DEB "django/utils/deprecation.py"},
		{"WSGIHandler.__call__", DEB "django/core/handlers/wsgi.py"},
		{"SyncWorker.handle_request", DEB "gunicorn/workers/sync.py"},
		{"SyncWorker.run", DEB "gunicorn/workers/sync.py"},
	};
	assert_int_equal(view(f, N(f), "django"), 1);
	/* in its middleware, outside _get_response: no view, and not
	 * Django's WSGIHandler for one */
	assert_int_equal(view(f + 4, N(f) - 4, NULL), -1);
	/* in _get_response itself (the view returned): none either */
	assert_int_equal(view(f + 3, N(f) - 3, NULL), -1);
	/* ... nor in what it calls then (the stdlib is never the view) */
	const struct dispatch_frame after[] = {
		{"ABCMeta.__instancecheck__", "<frozen abc>"},
		{"iscoroutine", LIB "asyncio/coroutines.py"},
		{"BaseHandler.check_response", DEB "django/core/handlers/base.py"},
		{"BaseHandler._get_response", DEB "django/core/handlers/base.py"},
		{"SyncWorker.handle_request", DEB "gunicorn/workers/sync.py"},
	};
	assert_int_equal(view(after, N(after), NULL), -1);
	/* gunicorn's own work around the application: not one */
	const struct dispatch_frame own[] = {
		{"getLogger", LIB "logging/__init__.py"},
		{"default_environ", DEB "gunicorn/http/wsgi.py"},
		{"create", DEB "gunicorn/http/wsgi.py"},
		{"SyncWorker.handle_request", DEB "gunicorn/workers/sync.py"},
	};
	assert_int_equal(view(own, N(own), NULL), -1);
}

static void test_class_views_and_decorators(void **state)
{
	(void)state;
	const struct dispatch_frame django[] = {
		{"OrderView.get", "/srv/site/shop/views.py"},
		{"View.dispatch", PYENV "django/views/generic/base.py"},
		{"View.as_view.<locals>.view", PYENV "django/views/generic/base.py"},
		{"login_required.<locals>._wrapped_view",
		 PYENV "django/contrib/auth/decorators.py"},
		{"BaseHandler._get_response", PYENV "django/core/handlers/base.py"},
	};
	assert_int_equal(view(django, N(django), "django"), 0);
	const struct dispatch_frame flask[] = {
		{"sum", LIB "functools.py"},
		{"Items.get", "/srv/app/views.py"},
		{"MethodView.dispatch_request", DEB "flask/views.py"},
		{"View.as_view.<locals>.view", DEB "flask/views.py"},
		{"Flask.dispatch_request", DEB "flask/app.py"},
		{"Flask.full_dispatch_request", DEB "flask/app.py"},
		{"Flask.wsgi_app", DEB "flask/app.py"},
		{"WSGIRequestHandler.run_wsgi.<locals>.execute", DEB "werkzeug/serving.py"},
	};
	assert_int_equal(view(flask, N(flask), "flask"), 1);
}

static void test_asgi(void **state)
{
	(void)state;
	const struct dispatch_frame f[] = {
		{"compute", "/srv/api/main.py"},
		{"run_endpoint_function", DEB "fastapi/routing.py"},
		{"get_request_handler.<locals>.app", DEB "fastapi/routing.py"},
		{"request_response.<locals>.app", DEB "starlette/routing.py"},
		{"Route.handle", DEB "starlette/routing.py"},
		{"Router.__call__", DEB "starlette/routing.py"},
		{"ProxyHeadersMiddleware.__call__", DEB "uvicorn/middleware/proxy_headers.py"},
		{"RequestResponseCycle.run_asgi", DEB "uvicorn/protocols/http/h11_impl.py"},
	};
	assert_int_equal(view(f, N(f), "fastapi"), 0);
	/* in run_endpoint_function itself (the endpoint returned): none, and
	 * not Route.handle's glue for one */
	assert_int_equal(view(f + 1, N(f) - 1, "starlette"), -1);
	const struct dispatch_frame s[] = {
		{"homepage", "/srv/api/main.py"},
		{"request_response.<locals>.app", DEB "starlette/routing.py"},
		{"Route.handle", DEB "starlette/routing.py"},
		{"RequestResponseCycle.run_asgi", DEB "uvicorn/protocols/http/httptools_impl.py"},
	};
	assert_int_equal(view(s, N(s), "starlette"), 0);
	/* the response sent, under Route.handle: uvicorn's send is no view */
	const struct dispatch_frame sent[] = {
		{"RequestResponseCycle.send", DEB "uvicorn/protocols/http/h11_impl.py"},
		{"Response.__call__", DEB "starlette/responses.py"},
		{"request_response.<locals>.app", DEB "starlette/routing.py"},
		{"Route.handle", DEB "starlette/routing.py"},
		{"RequestResponseCycle.run_asgi", DEB "uvicorn/protocols/http/h11_impl.py"},
	};
	assert_int_equal(view(sent, N(sent), NULL), -1);
	/* a bare ASGI app: uvicorn's own middleware is not it */
	const struct dispatch_frame bare[] = {
		{"app", "/srv/raw.py"},
		{"ProxyHeadersMiddleware.__call__", DEB "uvicorn/middleware/proxy_headers.py"},
		{"RequestResponseCycle.run_asgi", DEB "uvicorn/protocols/http/h11_impl.py"},
	};
	assert_int_equal(view(bare, N(bare), "asgi"), 0);
}

static void test_wsgi_fallback_and_old_names(void **state)
{
	(void)state;
	const struct dispatch_frame f[] = {
		{"work", "/srv/app.py"},
		{"application", "/srv/app.py"},
		{"SyncWorker.handle_request", DEB "gunicorn/workers/sync.py"},
	};
	assert_int_equal(view(f, N(f), "wsgi"), 1);
	/* 3.9/3.10: co_name only */
	const struct dispatch_frame old[] = {
		{"checkout", "/srv/site/shop/views.py"},
		{"_get_response", "/usr/lib/python3.9/site-packages/django/core/handlers/base.py"},
		{"handle_request", "/usr/lib/python3.9/site-packages/gunicorn/workers/gthread.py"},
	};
	assert_int_equal(view(old, N(old), "django"), 0);
	/* a name that is only the last part of another point's is not it */
	const struct dispatch_frame other[] = {
		{"checkout", "/srv/site/shop/views.py"},
		{"Other._get_response", DEB "django/core/handlers/base.py"},
	};
	assert_int_equal(view(other, N(other), NULL), -1);
	/* no point: a script */
	assert_int_equal(view(f, 2, NULL), -1);
	assert_int_equal(view(f, 0, NULL), -1);
}

static void test_own_directory_named_like_a_framework(void **state)
{
	(void)state;
	/* the user's /home/u/django is not Django's package */
	const struct dispatch_frame f[] = {
		{"index", "/home/u/django/views.py"},
		{"_view_wrapper", DEB "django/views/decorators/csrf.py"},
		{"BaseHandler._get_response", DEB "django/core/handlers/base.py"},
	};
	assert_int_equal(view(f, N(f), "django"), 0);
	/* nor a project called python3-tools, nor a venv's packages */
	const struct dispatch_frame g[] = {
		{"index", "/srv/python3-tools/views.py"},
		{"BaseHandler._get_response", DEB "django/core/handlers/base.py"},
	};
	assert_int_equal(view(g, N(g), "django"), 0);
	const struct dispatch_frame v[] = {
		{"index", "/srv/venv/lib/python3.11/site-packages/shopapp/views.py"},
		{"BaseHandler._get_response",
		 "/srv/venv/lib/python3.11/site-packages/django/core/handlers/base.py"},
	};
	assert_int_equal(view(v, N(v), "django"), 0);
}

static bool fake_package(void *ctx, const char *dir)
{
	for (const char *const *p = ctx; *p; p++)
		if (!strcmp(*p, dir))
			return true;
	return false;
}

static void test_names(void **state)
{
	(void)state;
	const char *pkgs[] = {"/srv/site/shop", "/srv/site/shop/api", NULL};
	char out[DISPATCH_NAME_MAX];
	struct dispatch_frame f = {"checkout", "/srv/site/shop/views.py"};
	dispatch_endpoint_name(&f, fake_package, pkgs, out, sizeof(out));
	assert_string_equal(out, "shop.views.checkout");
	f = (struct dispatch_frame){"V.get", "/srv/site/shop/api/v1.py"};
	dispatch_endpoint_name(&f, fake_package, pkgs, out, sizeof(out));
	assert_string_equal(out, "shop.api.v1.V.get");
	f = (struct dispatch_frame){"index", "/srv/site/shop/__init__.py"};
	dispatch_endpoint_name(&f, fake_package, pkgs, out, sizeof(out));
	assert_string_equal(out, "shop.index");
	f = (struct dispatch_frame){"application", "/srv/app.py"};
	dispatch_endpoint_name(&f, fake_package, pkgs, out, sizeof(out));
	assert_string_equal(out, "app.application");
	f = (struct dispatch_frame){"<module>", "<string>"};
	dispatch_endpoint_name(&f, fake_package, pkgs, out, sizeof(out));
	assert_string_equal(out, "<module>");
	/* cut, and terminated */
	char small[8];
	f = (struct dispatch_frame){"checkout", "/srv/site/shop/views.py"};
	dispatch_endpoint_name(&f, fake_package, pkgs, small, sizeof(small));
	assert_string_equal(small, "shop.vi");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_django_under_gunicorn),
		cmocka_unit_test(test_class_views_and_decorators),
		cmocka_unit_test(test_asgi),
		cmocka_unit_test(test_wsgi_fallback_and_old_names),
		cmocka_unit_test(test_own_directory_named_like_a_framework),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
