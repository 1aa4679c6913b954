/* daemon/control_proto.c: the control socket's framing, over a socketpair:
 * a request and a response go through intact; a frame cut short, a frame
 * above the limit, bytes that are no message and a clean end are told
 * apart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/proto.h"
#include "sys/clock.h"

static void pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void test_header(void **state)
{
	(void)state;
	uint8_t h[4];
	ctl_frame_header(0x01020304u, h);
	assert_int_equal(h[0], 1);
	assert_int_equal(h[3], 4);
	assert_int_equal(ctl_frame_length(h), 0x01020304u);
}

static void test_request_roundtrip(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	uint32_t pids[] = {42, 4242};
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	Pybpf__Control__RecordRequest rec = PYBPF__CONTROL__RECORD_REQUEST__INIT;
	rec.pids = pids;
	rec.n_pids = 2;
	rec.duration_s = 2.5;
	rec.mode = "gil";
	rec.format = "svg";
	rq.version = CTL_PROTO_VERSION;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_RECORD;
	rq.record = &rec;
	assert_int_equal(ctl_write_msg(sv[0], &rq.base), 0);
	Pybpf__Control__Request *got = ctl_read_request(sv[1], 0);
	assert_non_null(got);
	assert_int_equal(got->version, CTL_PROTO_VERSION);
	assert_int_equal(got->cmd_case, PYBPF__CONTROL__REQUEST__CMD_RECORD);
	assert_int_equal(got->record->n_pids, 2);
	assert_int_equal(got->record->pids[1], 4242);
	assert_true(got->record->duration_s == 2.5);
	assert_string_equal(got->record->mode, "gil");
	assert_string_equal(got->record->format, "svg");
	pybpf__control__request__free_unpacked(got, NULL);
	close(sv[0]);
	close(sv[1]);
}

static void test_response_roundtrip(void **state)
{
	(void)state;
	int sv[2];
	pair(sv);
	static uint8_t blob[100000];
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7);
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	Pybpf__Control__PsReply ps = PYBPF__CONTROL__PS_REPLY__INIT;
	Pybpf__Control__PsEntry e = PYBPF__CONTROL__PS_ENTRY__INIT, *ep = &e;
	e.pid = 7;
	e.service = "web";
	ps.procs = &ep;
	ps.n_procs = 1;
	r.ps = &ps;
	r.data.data = blob;
	r.data.len = sizeof(blob);
	/* bigger than the socket buffer: write from a child */
	pid_t child = fork();
	if (child == 0)
		_exit(ctl_write_msg(sv[0], &r.base) ? 1 : 0);
	Pybpf__Control__Response *got = ctl_read_response(sv[1]);
	assert_non_null(got);
	assert_int_equal(got->code, 0);
	assert_int_equal(got->data.len, sizeof(blob));
	assert_memory_equal(got->data.data, blob, sizeof(blob));
	assert_int_equal(got->ps->n_procs, 1);
	assert_string_equal(got->ps->procs[0]->service, "web");
	pybpf__control__response__free_unpacked(got, NULL);
	close(sv[0]);
	close(sv[1]);
}

static void test_errors(void **state)
{
	(void)state;
	int sv[2];
	uint8_t h[4];

	pair(sv); /* a clean end before any frame */
	close(sv[0]);
	assert_null(ctl_read_request(sv[1], 0));
	assert_int_equal(errno, ECONNRESET);
	close(sv[1]);

	pair(sv); /* a frame cut short */
	ctl_frame_header(10, h);
	assert_int_equal(write(sv[0], h, 4), 4);
	assert_int_equal(write(sv[0], "abc", 3), 3);
	close(sv[0]);
	assert_null(ctl_read_request(sv[1], 0));
	assert_int_equal(errno, EPROTO);
	close(sv[1]);

	pair(sv); /* a request above its limit: refused before any allocation */
	ctl_frame_header(CTL_MAX_REQUEST + 1, h);
	assert_int_equal(write(sv[0], h, 4), 4);
	assert_null(ctl_read_request(sv[1], 0));
	assert_int_equal(errno, EMSGSIZE);
	close(sv[0]);
	close(sv[1]);

	pair(sv); /* bytes that are no message (a field with wire type 7) */
	ctl_frame_header(2, h);
	assert_int_equal(write(sv[0], h, 4), 4);
	assert_int_equal(write(sv[0], "\x0f\x01", 2), 2);
	assert_null(ctl_read_request(sv[1], 0));
	assert_int_equal(errno, EBADMSG);
	close(sv[0]);
	close(sv[1]);
}

/* A client that sends a length and then stalls, or dribbles, is cut off at
 * the deadline; a large length alone pins no buffer of that size. */
static void test_deadline(void **state)
{
	(void)state;
	int sv[2];
	uint8_t h[4];

	pair(sv);
	ctl_frame_header(CTL_MAX_REQUEST, h);
	assert_int_equal(write(sv[0], h, 4), 4);
	assert_int_equal(write(sv[0], "ab", 2), 2);
	uint64_t t0 = monotonic_ns();
	assert_null(ctl_read_request(sv[1], 200));
	assert_int_equal(errno, ETIMEDOUT);
	uint64_t took = monotonic_ns() - t0;
	assert_true(took >= 150000000ULL && took < 2000000000ULL);
	close(sv[0]);
	close(sv[1]);

	pair(sv); /* nothing at all */
	assert_null(ctl_read_request(sv[1], 100));
	assert_int_equal(errno, ETIMEDOUT);
	close(sv[0]);
	close(sv[1]);

	/* a reply may be far larger than any request */
	uint8_t *buf;
	size_t len;
	pair(sv);
	ctl_frame_header(CTL_MAX_REQUEST + 1, h);
	assert_int_equal(write(sv[0], h, 4), 4);
	close(sv[0]);
	assert_int_equal(ctl_read_frame(sv[1], CTL_MAX_MESSAGE, 0, &buf, &len), -1);
	assert_int_equal(errno, EPROTO); /* cut short, not refused */
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_request_roundtrip),
		cmocka_unit_test(test_response_roundtrip),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_deadline),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
