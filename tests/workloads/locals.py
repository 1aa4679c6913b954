"""Frames whose variables are known, for `dump --locals`.

    locals.py OUT

A thread named "holder" stops in closure(), called by inner(), called by
outer(): their arguments, locals, cell and free variables hold one value of
each kind the dump shows, and objects built to mislead a reader: a str
subclass, a class named like a builtin, a dict of a million keys, a list
that holds itself, a 5001-digit int, a string longer than a repr shows.
Writes OUT (JSON) once it waits: {"tid": its native id, "frames": {function:
{name: {"repr", "arg", "kind"}}}}, what the dump must print for each
variable, computed here from Python's own repr and ids with the dump's caps
(120 characters, 10 elements, 3 levels of containers), then waits until
killed.  A thread named "churn" makes and frees containers meanwhile.
"""
import json
import sys
import threading

MAX_CHARS = 120


class MyStr(str):
    pass


class Impostor:
    pass


Impostor.__name__ = "str"  # a heap type that calls itself str


class Thing:
    def __init__(self):
        self.x = 1


def shown(text):
    """A repr as the dump caps it."""
    return text if len(text) <= MAX_CHARS else text[:MAX_CHARS - 3] + "..."


def obj(o):
    return f"<{type(o).__name__} object at {hex(id(o))}>"


def inner(count, *rest, label="x", **options):
    text = "hello 'world'\n\u00e9\u4e2d"
    raw = b"\x00ab'\xff"
    small, negative, big, huge = 42, -7, 2 ** 100, 7 * 10 ** 5000
    ratio, neg_zero, infinite = 0.1, -0.0, float("inf")
    flags = (True, False, None)
    items = [1, "two", 3.5, [4, [5, [6, [7]]]]]
    many = list(range(100))
    table = {"a": 1, 2: "b", None: (1,)}
    empty = ({}, [], (), set(), frozenset())
    members = {7}
    frozen = frozenset({"f"})
    long_text = "x" * 1000
    sub = MyStr("sub")
    fake = Impostor()
    thing = Thing()
    selfish = [1]
    selfish.append(selfish)
    million = dict.fromkeys(range(1000000))
    captured = count
    special = {
        "huge": "<int of about 5001 digits>",
        "items": "[1, 'two', 3.5, [4, [5, [...]]]]",
        "many": "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ...]",
        "million": "{" + ", ".join(f"{i}: None" for i in range(10)) + ", ...}",
        "selfish": "[1, [...]]",
        "sub": obj(sub), "fake": f"<str object at {hex(id(fake))}>", "thing": obj(thing),
    }

    def closure():
        hold(captured)

    frame = {}
    for name, value in list(locals().items()):
        if name in ("frame", "special"):
            continue
        r = special.get(name) or (obj(value) if callable(value) else shown(repr(value)))
        frame[name] = {"repr": r, "arg": name in ("count", "rest", "label", "options"),
                       "kind": "cell" if name == "captured" else "local"}
    state["frames"]["inner"] = frame
    state["frames"]["closure"] = {"captured": {"repr": repr(count), "arg": False, "kind": "free"}}
    closure()


def outer(n):
    tag = "outer"
    state["frames"]["outer"] = {"n": {"repr": repr(n), "arg": True, "kind": "local"},
                                "tag": {"repr": repr(tag), "arg": False, "kind": "local"}}
    inner(n, "r1", 2, label="L", extra=1)
    return tag


state = {"frames": {}}


def hold(value):
    state["go"].set()
    threading.Event().wait()  # WAIT LINE


def churn():
    """Containers made and freed as fast as it goes: variables a dump
    reads may be gone, their memory reused, by the time it reads them."""
    i = 0
    while True:
        rows = [{"k": str(j) * 3, "v": [j, j + 1]} for j in range(20)]
        text = "row %d" % i
        del rows, text
        i += 1


def main(out):
    state["go"] = threading.Event()
    threading.Thread(target=churn, name="churn", daemon=True).start()
    t = threading.Thread(target=outer, args=(3,), name="holder", daemon=True)
    t.start()
    state["go"].wait()
    with open(out, "w") as f:
        json.dump({"tid": t.native_id, "frames": state["frames"]}, f)
    threading.Event().wait()


main(sys.argv[1])
