"""A CPU-bound workload that changes what it runs: argv[1] is a list of
phases, "alpha:3,beta:8,alpha:5" (function: seconds), run in turn."""
import sys
import time


def alpha():
    x = 0
    for i in range(50000):
        x += i  # ALPHA LINE
    return x


def beta():
    x = 0
    for i in range(50000):
        x -= i  # BETA LINE
    return x


def main(spec):
    for phase in spec.split(","):
        name, seconds = phase.split(":")
        fn = globals()[name]
        end = time.monotonic() + float(seconds)
        while time.monotonic() < end:
            fn()


if __name__ == "__main__":
    main(sys.argv[1])
