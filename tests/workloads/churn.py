"""A recursion that goes up and down all the time: the stack a dump sees
changes between any two reads.  Every frame but the innermost is either
main() at its call line or rec() at its call line; prints "ready" once
running, then runs for argv[1] seconds."""
import sys
import time


def rec(n, depth):
    if n < depth:
        return rec(n + 1, depth)  # REC CALL LINE
    x = 0
    for i in range(200):
        x += i
    return x


def main(seconds):
    end = time.monotonic() + seconds
    print("ready", flush=True)
    d = 1
    while time.monotonic() < end:
        rec(0, d)  # MAIN CALL LINE
        d = d % 60 + 1


main(float(sys.argv[1]))
