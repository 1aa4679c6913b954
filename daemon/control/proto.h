/* control_proto.h - the control socket's framing: a 4-byte big-endian
 * length, then a serialised pybpf.control message (proto/control.proto). */
#ifndef PYBPF_CONTROL_PROTO_H
#define PYBPF_CONTROL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"

#define CTL_PROTO_VERSION 1
#define CTL_MAX_MESSAGE	  (64u << 20) /* a reply: a profile */
/* a request: the largest real one (a record of a few thousand pids) is a
 * few KiB, so a client can pin no more than this */
#define CTL_MAX_REQUEST	   (64u << 10)
#define CTL_REQUEST_MS	   5000 /* a request arrives whole within this */
#define CTL_DEFAULT_SOCKET "/run/pybpf/pybpfd.sock"

/* Writes one framed message.  0, or -1 with errno. */
int ctl_write_msg(int fd, const ProtobufCMessage *m);

/* Reads one frame's payload of at most max bytes into a malloc'd buffer
 * (*len bytes), grown as the bytes arrive, whole within timeout_ms (0: no
 * limit).  0; 1 at a clean end of stream; -1 with errno (EMSGSIZE above
 * max, EPROTO for a frame cut short, ETIMEDOUT). */
int ctl_read_frame(int fd, size_t max, int timeout_ms, uint8_t **buf, size_t *len);

/* Reads and unpacks one Request (at most CTL_MAX_REQUEST, within
 * timeout_ms) / Response (free with the matching __free_unpacked); NULL
 * with errno (EBADMSG when it does not parse). */
Pybpf__Control__Request *ctl_read_request(int fd, int timeout_ms);
Pybpf__Control__Response *ctl_read_response(int fd);

/* The frame header for len bytes, and its inverse (for tests). */
void ctl_frame_header(uint32_t len, uint8_t out[4]);
uint32_t ctl_frame_length(const uint8_t in[4]);

#endif
