"""Recurses argv[1] frames deep, then spins for argv[2] seconds at the bottom."""
import sys
import time

sys.setrecursionlimit(100000)


def recurse(n, end):
    if n == 0:
        while time.monotonic() < end:  # BOTTOM LINE
            pass
        return 0
    return recurse(n - 1, end) + 1  # RECURSE LINE


recurse(int(sys.argv[1]), time.monotonic() + float(sys.argv[2]))
