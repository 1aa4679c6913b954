"""A process that keeps one CPU busy in spin() for argv[1] seconds (default:
until killed): the daemon tests' steady subject."""
import sys
import time


def spin(n):
    x = 0
    for i in range(n):
        x += i * i  # SPIN LINE
    return x


def main(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spin(20000)


main(float(sys.argv[1]) if len(sys.argv) > 1 else 1e9)
