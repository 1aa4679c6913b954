/* report/http.c: requests' routes, and the log of answered requests. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "report/http.h"

static void route(const char *line, const char *want)
{
	char out[HTTP_ROUTE_MAX];
	http_route(line, strlen(line), out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_routes(void **state)
{
	(void)state;
	route("GET /cpu/ HTTP/1.1\r\nHost: x\r\n", "GET /cpu/");
	route("GET /orders/1234/items/7 HTTP/1.1", "GET /orders/?/items/?");
	route("POST /login?next=/secret&token=abc HTTP/1.1", "POST /login");
	route("GET /u/5f3a9c2e11d04b7e HTTP/1.1", "GET /u/?");
	route("GET /u/123e4567-e89b-12d3-a456-426614174000/ HTTP/1.0", "GET /u/?/");
	route("GET /deadbeef HTTP/1.1", "GET /deadbeef"); /* no digit: a name */
	route("GET /v2/abc HTTP/1.1", "GET /v2/abc");
	route("GET / HTTP/1.1", "GET /");
	route("GET /a#frag HTTP/1.1", "GET /a");
	route("GET /caf\xc3\xa9 HTTP/1.1", "GET /caf??");
	route("GET /cut-before-its-end", "GET /cut-before-its-end");
}

static void test_not_requests(void **state)
{
	(void)state;
	route("", "");
	route("GET", "");
	route("GET ", "");
	route("get /x HTTP/1.1", "");
	route("GET x HTTP/1.1", "");
	route("HTTP/1.1 200 OK", "");
	char out[4];
	http_route("GET /abcdef", 11, out, sizeof(out)); /* no room for "GET /" */
	assert_string_equal(out, "");
	char five[6];
	http_route("GET /abcdef", 11, five, sizeof(five)); /* whole segments only */
	assert_string_equal(five, "GET /");
	char small[12];
	http_route("GET /ab/123456789 HTTP/1.1", 26, small, sizeof(small));
	assert_string_equal(small, "GET /ab/?");
	http_route("GET /ab/x1234567z HTTP/1.1", 26, small, sizeof(small));
	assert_string_equal(small, "GET /ab");
	http_route("GET /x", 6, out, 0); /* nothing written */
}

static struct pybpf_http_req req(uint32_t pid, const char *line, uint64_t start, uint64_t end)
{
	struct pybpf_http_req e;
	memset(&e, 0, sizeof(e));
	e.pid = pid;
	e.start = start;
	e.end = end;
	e.status = 200;
	e.len = (uint16_t)strlen(line);
	memcpy(e.line, line, e.len);
	return e;
}

static const char *names(void *ctx, uint64_t hash)
{
	(void)ctx;
	return hash == 1 ? "app.views.order" : hash == 2 ? "app.views.other" : NULL;
}

static void test_log(void **state)
{
	(void)state;
	struct http_log l = {.pid = 7};
	struct pybpf_http_req e = req(7, "GET /orders/1 HTTP/1.1", 10, 20);
	e.nhash = 2;
	e.hash[0] = 9; /* names nothing: the next one counts */
	e.hash[1] = 1;
	assert_int_equal(http_log_add(&l, &e, sizeof(e)), 0);
	e = req(7, "GET /orders/2 HTTP/1.1", 30, 45); /* no stack: the route's vote */
	assert_int_equal(http_log_add(&l, &e, sizeof(e)), 0);
	e = req(8, "GET /x HTTP/1.1", 0, 1); /* another process */
	http_log_add(&l, &e, sizeof(e));
	http_log_add(&l, &e, sizeof(e) - 1); /* short */
	e = req(7, "\x01\x02", 0, 1);
	http_log_add(&l, &e, sizeof(e));
	assert_int_equal(l.n, 3);
	assert_int_equal(l.nroutes, 2);
	assert_string_equal(l.routes[0].route, "GET /orders/?");
	assert_string_equal(l.routes[1].route, "(unparsed)");
	assert_int_equal(l.v[1].route, 0);
	assert_int_equal(l.v[1].end - l.v[1].start, 15);
	assert_int_equal(http_log_endpoints(&l, names, NULL), 0);
	assert_string_equal(l.routes[0].endpoint, "app.views.order");
	assert_string_equal(l.routes[1].endpoint, "");
	http_log_free(&l);
}

/* More routes than the table holds: the rest share "(other)", none lost. */
static void test_many_routes(void **state)
{
	(void)state;
	struct http_log l = {.pid = 1};
	char line[64];
	for (int i = 0; i < HTTP_ROUTES_MAX + 10; i++) {
		snprintf(line, sizeof(line), "GET /r%c%c%c HTTP/1.1", 'a' + i % 26,
			 'a' + i / 26 % 26, 'a' + i / 676);
		struct pybpf_http_req e = req(1, line, 0, 1);
		http_log_add(&l, &e, sizeof(e));
	}
	assert_int_equal(l.n, HTTP_ROUTES_MAX + 10);
	assert_int_equal(l.nroutes, HTTP_ROUTES_MAX);
	assert_string_equal(l.routes[HTTP_ROUTES_MAX - 1].route, "(other)");
	assert_int_equal(l.dropped, 0);
	http_log_free(&l);
}

/* 5xx and nothing else: not an unread status (0), nor a garbled one. */
static void test_server_error(void **state)
{
	(void)state;
	assert_false(http_server_error(0));
	assert_false(http_server_error(499));
	assert_true(http_server_error(500));
	assert_true(http_server_error(599));
	assert_false(http_server_error(600));
	assert_false(http_server_error(999));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_routes),	     cmocka_unit_test(test_not_requests),
		cmocka_unit_test(test_log),	     cmocka_unit_test(test_many_routes),
		cmocka_unit_test(test_server_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
