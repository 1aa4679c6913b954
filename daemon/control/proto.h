/* control_proto.h - the control socket's framing: a 4-byte big-endian
 * length, then a serialised pybpf.control message (proto/control.proto). */
#ifndef PYBPF_CONTROL_PROTO_H
#define PYBPF_CONTROL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "control.pb-c.h"

#define CTL_PROTO_VERSION  1
#define CTL_MAX_MESSAGE	   (64u << 20)
#define CTL_DEFAULT_SOCKET "/run/pybpf/pybpfd.sock"

/* Writes one framed message.  0, or -1 with errno. */
int ctl_write_msg(int fd, const ProtobufCMessage *m);

/* Reads one frame's payload into a malloc'd buffer (*len bytes).  0; 1 at
 * a clean end of stream; -1 with errno (EMSGSIZE above CTL_MAX_MESSAGE,
 * EPROTO for a frame cut short). */
int ctl_read_frame(int fd, uint8_t **buf, size_t *len);

/* Reads and unpacks one Request / Response (free with the matching
 * __free_unpacked); NULL with errno (EBADMSG when it does not parse). */
Pybpf__Control__Request *ctl_read_request(int fd);
Pybpf__Control__Response *ctl_read_response(int fd);

/* The frame header for len bytes, and its inverse (for tests). */
void ctl_frame_header(uint32_t len, uint8_t out[4]);
uint32_t ctl_frame_length(const uint8_t in[4]);

#endif
