/* fuzz_http: a request line the target process read (bpf/http.bpf.h), made
 * a route (report/http.c).  What must hold for any bytes: the route fits
 * its buffer, is printable ASCII, is a method, " /" and a path with no
 * space or '#', and no segment of it is a number (ids are made '?'). */
#include "fuzz.h"

#include "report/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[HTTP_ROUTE_MAX];
	http_route((const char *)data, size, out, sizeof(out));
	size_t n = strlen(out);
	if (n >= sizeof(out))
		abort();
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < ' ' || (unsigned char)out[i] >= 0x7f)
			abort();
	const char *sp = strchr(out, ' ');
	if (!sp || sp[1] != '/' || strchr(sp + 1, ' ') || strchr(out, '#'))
		abort();
	for (const char *p = sp + 1; *p; p++) {
		if (*p != '/')
			continue;
		size_t k = 1;
		while (p[k] >= '0' && p[k] <= '9')
			k++;
		if (k > 1 && (p[k] == '/' || !p[k]))
			abort(); /* a number left as a segment */
	}
	struct http_log l = {.pid = 1};
	struct pybpf_http_req e;
	memset(&e, 0, sizeof(e));
	e.pid = 1;
	e.len = (uint16_t)(size < 0xffff ? size : 0xffff); /* a length past the line: capped */
	memcpy(e.line, data, size < sizeof(e.line) ? size : sizeof(e.line));
	http_log_add(&l, &e, sizeof(e));
	if (l.n != 1 || l.nroutes != 1)
		abort();
	http_log_free(&l);
	return 0;
}
