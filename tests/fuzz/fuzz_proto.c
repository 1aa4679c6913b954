/* fuzz_proto: the control socket's frame reader and decoder
 * (daemon/control/proto.c: ctl_read_request, ctl_read_response,
 * ctl_read_frame) over a pipe holding the fuzzed byte stream, closed after
 * it as a client that hangs up does.
 *
 * Input: byte 0 picks the reader (request, response, a bare frame of at most
 * 256 bytes); the rest is the stream: 4-byte big-endian length, message. */
#include "fuzz.h"

#include <errno.h>
#include <fcntl.h>

#include "control/proto.h"

/* A decoded message packs again (every count and pointer it holds agrees) */
static void repack(const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf || protobuf_c_message_pack(m, buf) != len)
		abort();
	free(buf);
}

/* ---- seeds: real messages, framed by the project's own ctl_write_msg ---- */

static void seed(const char *dir, const char *name, int selector, const ProtobufCMessage *m)
{
	int fd = memfd_create("seed", MFD_CLOEXEC);
	if (fd < 0 || ctl_write_msg(fd, m))
		abort();
	off_t n = lseek(fd, 0, SEEK_CUR);
	uint8_t *buf = malloc((size_t)n + 1);
	if (pread(fd, buf, (size_t)n, 0) != n)
		abort();
	fuzz_seed(dir, name, selector, buf, (size_t)n);
	free(buf);
	close(fd);
}

static void request_seeds(const char *dir)
{
	Pybpf__Control__Request rq = PYBPF__CONTROL__REQUEST__INIT;
	rq.version = CTL_PROTO_VERSION;

	Pybpf__Control__StatusRequest st = PYBPF__CONTROL__STATUS_REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_STATUS;
	rq.status = &st;
	seed(dir, "request-status", 0, &rq.base);

	Pybpf__Control__PsRequest ps = PYBPF__CONTROL__PS_REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_PS;
	rq.ps = &ps;
	seed(dir, "request-ps", 0, &rq.base);

	uint32_t pids[] = {1234, 4321, 77};
	char *formats[] = {"pprof", "svg", "collapsed", "speedscope"};
	Pybpf__Control__RecordRequest rec = PYBPF__CONTROL__RECORD_REQUEST__INIT;
	rec.pids = pids;
	rec.n_pids = 3;
	rec.duration_s = 2.5;
	rec.mode = "wall";
	rec.format = "svg";
	rec.title = "web workers";
	rec.formats = formats;
	rec.n_formats = 4;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_RECORD;
	rq.record = &rec;
	seed(dir, "request-record", 0, &rq.base);

	Pybpf__Control__DumpRequest dump = PYBPF__CONTROL__DUMP_REQUEST__INIT;
	dump.pid = 1234;
	dump.json = true;
	dump.nonblocking = true;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_DUMP;
	rq.dump = &dump;
	seed(dir, "request-dump", 0, &rq.base);

	Pybpf__Control__ReportRequest rep = PYBPF__CONTROL__REPORT_REQUEST__INIT;
	rep.pid = 1234;
	rep.duration_s = 5;
	rep.gil = true;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_REPORT;
	rq.report = &rep;
	seed(dir, "request-report", 0, &rq.base);

	Pybpf__Control__TopRequest top = PYBPF__CONTROL__TOP_REQUEST__INIT;
	top.interval_s = 1;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_TOP;
	rq.top = &top;
	seed(dir, "request-top", 0, &rq.base);

	Pybpf__Control__StopRequest stop = PYBPF__CONTROL__STOP_REQUEST__INIT;
	rq.cmd_case = PYBPF__CONTROL__REQUEST__CMD_STOP;
	rq.stop = &stop;
	seed(dir, "request-stop", 0, &rq.base);
	seed(dir, "frame-stop", 2, &rq.base);
}

static void response_seeds(const char *dir)
{
	Pybpf__Control__Response r = PYBPF__CONTROL__RESPONSE__INIT;
	r.code = 3;
	r.error = "pid 1234: not a Python process (no CPython runtime mapped)";
	seed(dir, "response-error", 1, &r.base);
	seed(dir, "frame-error", 2, &r.base);

	Pybpf__Control__Response ok = PYBPF__CONTROL__RESPONSE__INIT;
	Pybpf__Control__Counter c1 = PYBPF__CONTROL__COUNTER__INIT, c2 = c1;
	Pybpf__Control__Counter *drops[] = {&c1}, *ctrs[] = {&c2};
	c1.name = "ringbuf_full";
	c1.value = 3;
	c2.name = "stacks";
	c2.value = 1234567;
	Pybpf__Control__ExportStatus ex = PYBPF__CONTROL__EXPORT_STATUS__INIT, *exs[] = {&ex};
	ex.name = "push";
	ex.enabled = true;
	ex.target = "http://127.0.0.1:4040";
	ex.ok = 10;
	ex.queued = 2;
	ex.last_error = "HTTP 503";
	ex.last_error_time = 1733050000;
	Pybpf__Control__StatusReply st = PYBPF__CONTROL__STATUS_REPLY__INIT;
	st.version = "0.1.0";
	st.uptime_s = 3600.5;
	st.rate_hz = 99;
	st.window_s = 15;
	st.mode = "cpu";
	st.processes = 4;
	st.samples = 99999;
	st.drops = drops;
	st.n_drops = 1;
	st.counters = ctrs;
	st.n_counters = 1;
	st.exports = exs;
	st.n_exports = 1;
	st.config_path = "/etc/pybpf/pybpfd.conf";
	st.pid = 812;
	ok.status = &st;
	seed(dir, "response-status", 1, &ok.base);

	Pybpf__Control__Response psr = PYBPF__CONTROL__RESPONSE__INIT;
	Pybpf__Control__PsEntry e = PYBPF__CONTROL__PS_ENTRY__INIT, *es[] = {&e, &e};
	e.pid = 1234;
	e.ns_pid = 1;
	e.version = "3.11.2";
	e.service = "web";
	e.threads = 8;
	e.samples = 4242;
	e.container = "/var/lib/machines/web";
	e.command = "python3 app.py --port 8080";
	Pybpf__Control__PsReply ps = PYBPF__CONTROL__PS_REPLY__INIT;
	ps.procs = es;
	ps.n_procs = 2;
	psr.ps = &ps;
	seed(dir, "response-ps", 1, &psr.base);

	Pybpf__Control__Response tr = PYBPF__CONTROL__RESPONSE__INIT;
	Pybpf__Control__TopRow row = PYBPF__CONTROL__TOP_ROW__INIT, *rows[] = {&row};
	row.function = "handle_request";
	row.file = "/srv/app/views.py";
	row.line = 42;
	row.self = 10;
	row.total = 90;
	Pybpf__Control__TopReply top = PYBPF__CONTROL__TOP_REPLY__INIT;
	top.samples = 99;
	top.seconds = 1;
	top.rows = rows;
	top.n_rows = 1;
	top.processes = 1;
	top.threads = 3;
	tr.top = &top;
	seed(dir, "response-top", 1, &tr.base);

	Pybpf__Control__Response rr = PYBPF__CONTROL__RESPONSE__INIT;
	static uint8_t body[] = "main;work;compute 42\nmain;idle 7\n";
	ProtobufCBinaryData outs[] = {{sizeof(body) - 1, body}, {4, body}};
	Pybpf__Control__RecordSummary sum = PYBPF__CONTROL__RECORD_SUMMARY__INIT;
	sum.samples = 49;
	sum.duration_s = 0.5;
	sum.rate_hz = 99;
	sum.python = "3.12.1";
	sum.drops = drops;
	sum.n_drops = 1;
	rr.data.data = body;
	rr.data.len = sizeof(body) - 1;
	rr.outputs = outs;
	rr.n_outputs = 2;
	rr.summary = &sum;
	seed(dir, "response-record", 1, &rr.base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *dir = getenv("PYBPF_FUZZ_WRITE_SEEDS");
	if (dir) {
		request_seeds(dir);
		response_seeds(dir);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];
	if (size < 1 || size > (1u << 20))
		return 0;
	if (pipe2(fds, O_CLOEXEC))
		abort();
	if (size - 1 > 65536 && fcntl(fds[1], F_SETPIPE_SZ, (int)(size - 1)) < 0) {
		close(fds[0]);
		close(fds[1]);
		return 0;
	}
	if (size > 1 && write(fds[1], data + 1, size - 1) != (ssize_t)(size - 1))
		abort();
	close(fds[1]);

	switch (data[0] % 3) {
	case 0: {
		Pybpf__Control__Request *rq = ctl_read_request(fds[0], 1000);
		if (rq) {
			repack(&rq->base);
			if (rq->cmd_case == PYBPF__CONTROL__REQUEST__CMD_RECORD && rq->record) {
				for (size_t i = 0; i < rq->record->n_formats; i++)
					if (!rq->record->formats[i])
						abort();
			}
			pybpf__control__request__free_unpacked(rq, NULL);
		} else if (errno != EBADMSG && errno != EMSGSIZE && errno != EPROTO &&
			   errno != ECONNRESET) {
			abort(); /* no other failure of a pipe that holds it all */
		}
		break;
	}
	case 1: {
		Pybpf__Control__Response *r = ctl_read_response(fds[0]);
		if (r) {
			repack(&r->base);
			pybpf__control__response__free_unpacked(r, NULL);
		}
		break;
	}
	case 2: {
		uint8_t *buf = NULL;
		size_t len = 0;
		int ret = ctl_read_frame(fds[0], 256, 1000, &buf, &len);
		if (ret == 0) {
			if (len > 256 || len + 4 > size - 1)
				abort();
			fuzz_touch(buf, len);
			free(buf);
		}
		break;
	}
	}
	close(fds[0]);
	return 0;
}
