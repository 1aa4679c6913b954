"""Slow clients: opens N connections to pybpfd's control socket (unix PATH)
or its HTTP endpoint (http PORT) and holds them for SECONDS, half of them
idle, half sending a request one byte a second.  Prints, as JSON, how many
connected, how many were refused (a reply, then the end of the stream), and
when the others saw the end of the stream (seconds after
connecting; None: still open at the end)."""
import json
import select
import socket
import sys
import time

mode, where, n, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
slow_request = {
    # a frame header that says 1 KiB, then the bytes one by one
    "unix": b"\x00\x00\x04\x00" + b"\x08" * 1024,
    "http": b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 1000 + b"\r\n\r\n",
}[mode]

conns = []
failed = 0
for i in range(n):
    try:
        if mode == "unix":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(where)
        else:
            s = socket.create_connection(("127.0.0.1", int(where)), timeout=5)
        s.setblocking(False)
        conns.append({"s": s, "t0": time.monotonic(), "slow": i % 2 == 1, "sent": 0, "end": None, "got": 0})
    except OSError:
        failed += 1
print("ready", flush=True)

deadline = time.monotonic() + seconds
next_byte = time.monotonic()
while time.monotonic() < deadline:
    open_ = [c for c in conns if c["end"] is None]
    if not open_:
        break
    r, _, _ = select.select([c["s"] for c in open_], [], [], 0.1)
    now = time.monotonic()
    for c in open_:
        if c["s"] in r:
            try:
                data = c["s"].recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            c["got"] += len(data)
            if not data:
                c["end"] = now - c["t0"]
    if now >= next_byte:
        next_byte = now + 1.0
        for c in open_:
            if c["slow"] and c["end"] is None and c["sent"] < len(slow_request):
                try:
                    c["sent"] += c["s"].send(slow_request[c["sent"]:c["sent"] + 1])
                except OSError:
                    # the other end closed (EPIPE): stop sending; a reply it
                    # sent before closing may still wait unread, and the end
                    # of the stream after it, so the reading above tells
                    c["sent"] = len(slow_request)

# refused: told why (a reply) and closed; one cut at its deadline gets no reply
refused = sum(1 for c in conns if c["end"] is not None and c["got"] > 0)
ends = [c["end"] for c in conns if not (c["end"] is not None and c["got"] > 0)]
print(json.dumps({"connected": len(conns), "failed": failed, "refused": refused, "ends": ends}), flush=True)
