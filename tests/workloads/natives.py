"""Time in shared libraries: libc's memset/memmove (bytes built and copied)
and libz (compression), for SECONDS."""
import sys
import time
import zlib

end = time.monotonic() + float(sys.argv[1])
data = bytes(range(256)) * 4096
while time.monotonic() < end:
    s = b"a" * (1 << 22)
    t = bytes(bytearray(s))
    zlib.compress(data, 6)
