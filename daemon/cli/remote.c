/* remote.c - pybpfctl's side of talking to pybpfd: connecting, a request
 * and its answer, with a progress line and Ctrl-C sending a stop. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int daemon_connect(void)
{
	if (no_daemon)
		return -1;
	int fd = ctl_connect(ctl_path);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fprintf(stderr,
			"pybpfctl: pybpfd runs but its socket %s is not yours to use (join the "
			"group pybpf); loading BPF here instead\n",
			ctl_path);
	return fd;
}

int daemon_require(void)
{
	if (no_daemon) {
		fprintf(stderr, "pybpfctl: this command needs pybpfd (drop --no-daemon)\n");
		return -1;
	}
	int fd = ctl_connect(ctl_path);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fprintf(stderr,
			"pybpfctl: pybpfd's socket %s is not yours to use: ask to join the "
			"group pybpf (or run as root)\n",
			ctl_path);
	else if (fd < 0)
		fprintf(stderr,
			"pybpfctl: pybpfd is not running (nothing listens on %s): start it "
			"(systemctl start pybpfd), or give its socket with --socket PATH\n",
			ctl_path);
	return fd;
}

/* Waits for the answer to the request running on fd. */
static Pybpf__Control__Response *await(int fd, const char *label)
{
	struct progress pr;
	bool stopped = false;
	progress_init(&pr, !label);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 200);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			return NULL;
		if (stop_requested && !stopped) {
			stopped = true;
			ctl_send_stop(fd);
		}
		progress_show(&pr, label, "via pybpfd", false);
	}
	if (pr.last)
		progress_show(&pr, label, "via pybpfd", true);
	return ctl_read_response(fd);
}

Pybpf__Control__Response *daemon_call(int fd, Pybpf__Control__Request *rq, const char *label)
{
	Pybpf__Control__Response *r = NULL;
	if (ctl_send(fd, rq) == 0)
		r = await(fd, label);
	else if (errno == EPIPE) /* refused before it read: it may have said why */
		r = ctl_read_response(fd);
	if (!r) {
		fprintf(stderr, "pybpfctl: talking to pybpfd (%s) failed: %s\n", ctl_path,
			strerror(errno));
		return NULL;
	}
	if (r->code) {
		fprintf(stderr, "pybpfctl: %s\n", r->error && r->error[0] ? r->error : "refused");
		pybpf__control__response__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

int print_response_data(Pybpf__Control__Response *r)
{
	int ret = fwrite(r->data.data, 1, r->data.len, stdout) == r->data.len ? 0 : 1;
	pybpf__control__response__free_unpacked(r, NULL);
	return ret;
}
