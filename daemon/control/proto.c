/* proto.c - framing of the control protocol. */
#include "control/proto.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

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

/* 0 when n bytes were read, 1 at end of stream before any, -1 else. */
static int read_all(int fd, uint8_t *p, size_t n)
{
	ssize_t got = read_full(fd, p, n);
	if (got < 0)
		return -1;
	if (got == 0 && n)
		return 1;
	if ((size_t)got < n) {
		errno = EPROTO;
		return -1;
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

int ctl_read_frame(int fd, uint8_t **buf, size_t *len)
{
	uint8_t hdr[4];
	int r = read_all(fd, hdr, sizeof(hdr));
	if (r)
		return r;
	uint32_t n = ctl_frame_length(hdr);
	if (n > CTL_MAX_MESSAGE) {
		errno = EMSGSIZE;
		return -1;
	}
	*buf = malloc(n ? n : 1);
	if (!*buf)
		return -1;
	r = read_all(fd, *buf, n);
	if (r) {
		free(*buf);
		*buf = NULL;
		if (r == 1)
			errno = EPROTO;
		return -1;
	}
	*len = n;
	return 0;
}

/* Reads and unpacks one message of type desc. */
static ProtobufCMessage *read_msg(int fd, const ProtobufCMessageDescriptor *desc)
{
	uint8_t *buf;
	size_t len;
	int r = ctl_read_frame(fd, &buf, &len);
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

Pybpf__Control__Request *ctl_read_request(int fd)
{
	return (Pybpf__Control__Request *)read_msg(fd, &pybpf__control__request__descriptor);
}

Pybpf__Control__Response *ctl_read_response(int fd)
{
	return (Pybpf__Control__Response *)read_msg(fd, &pybpf__control__response__descriptor);
}
