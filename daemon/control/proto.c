/* proto.c - framing of the control protocol. */
#include "control/proto.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "sys/clock.h"
#include "sys/fileio.h"

void ctl_frame_header(uint32_t len, uint8_t out[4])
{
	out[0] = (uint8_t)(len >> 24);
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
}

uint32_t ctl_frame_length(const uint8_t in[4])
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

/* Reads n bytes (by deadline, monotonic ns; 0: none): 0 when read, 1 at
 * end of stream before any, -1 else. */
static int read_by(int fd, uint8_t *p, size_t n, uint64_t deadline)
{
	size_t got = 0;
	while (got < n) {
		if (deadline) {
			uint64_t now = monotonic_ns();
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int r = now < deadline
					? poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1))
					: 0;
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				if (!r)
					errno = ETIMEDOUT;
				return -1;
			}
		}
		ssize_t k = read(fd, p + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0) {
			if (got)
				errno = EPROTO;
			return got ? -1 : 1;
		}
		got += (size_t)k;
	}
	return 0;
}

int ctl_write_msg(int fd, const ProtobufCMessage *m)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	if (len > CTL_MAX_MESSAGE) {
		errno = EMSGSIZE;
		return -1;
	}
	uint8_t *buf = malloc(len + 4);
	if (!buf)
		return -1;
	ctl_frame_header((uint32_t)len, buf);
	protobuf_c_message_pack(m, buf + 4);
	int r = write_all(fd, buf, len + 4);
	free(buf);
	return r;
}

int ctl_read_frame(int fd, size_t max, int timeout_ms, uint8_t **buf, size_t *len)
{
	uint64_t deadline = timeout_ms > 0 ? monotonic_ns() + (uint64_t)timeout_ms * 1000000 : 0;
	uint8_t hdr[4];
	int r = read_by(fd, hdr, sizeof(hdr), deadline);
	if (r)
		return r;
	size_t n = ctl_frame_length(hdr), have = 0, cap = n < 4096 ? n : 4096;
	if (n > max) {
		errno = EMSGSIZE;
		return -1;
	}
	uint8_t *b = malloc(cap ? cap : 1);
	if (!b)
		return -1;
	/* grown as bytes arrive: a length alone pins nothing */
	while (have < n) {
		if (have == cap) {
			cap = cap * 2 < n ? cap * 2 : n;
			uint8_t *nb = realloc(b, cap);
			if (!nb)
				goto fail;
			b = nb;
		}
		r = read_by(fd, b + have, cap - have, deadline);
		if (r) {
			if (r == 1)
				errno = EPROTO;
			goto fail;
		}
		have = cap;
	}
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	*buf = NULL;
	return -1;
}

/* Reads and unpacks one message of type desc. */
static ProtobufCMessage *read_msg(int fd, const ProtobufCMessageDescriptor *desc, size_t max,
				  int timeout_ms)
{
	uint8_t *buf;
	size_t len;
	int r = ctl_read_frame(fd, max, timeout_ms, &buf, &len);
	if (r) {
		if (r == 1)
			errno = ECONNRESET;
		return NULL;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, buf);
	free(buf);
	if (!m)
		errno = EBADMSG;
	return m;
}

Pybpf__Control__Request *ctl_read_request(int fd, int timeout_ms)
{
	return (Pybpf__Control__Request *)read_msg(fd, &pybpf__control__request__descriptor,
						   CTL_MAX_REQUEST, timeout_ms);
}

Pybpf__Control__Response *ctl_read_response(int fd)
{
	return (Pybpf__Control__Response *)read_msg(fd, &pybpf__control__response__descriptor,
						    CTL_MAX_MESSAGE, 0);
}
