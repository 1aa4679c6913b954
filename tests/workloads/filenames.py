"""Frames in files of every kind of place, for the short file names.

    filenames.py SECONDS PACKAGES

A thread (threading.py, the standard library) runs a function of a module
in PACKAGES/lib/python3.X/site-packages/fakepkg/mod.py (a package), which
calls json.dumps (json/encoder.py, a package of the standard library) and
a function of this script (a file of the program's own) in turn, for
SECONDS.
"""
import os
import sys
import threading

seconds, packages = float(sys.argv[1]), sys.argv[2]
site = os.path.join(packages, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
os.makedirs(os.path.join(site, "fakepkg"), exist_ok=True)
with open(os.path.join(site, "fakepkg", "__init__.py"), "w") as f:
    f.write("")
with open(os.path.join(site, "fakepkg", "mod.py"), "w") as f:
    f.write("""import json, time


def packaged(own, seconds):
    end = time.monotonic() + seconds
    data = {"k%d" % i: [i, str(i)] for i in range(200)}
    while time.monotonic() < end:
        json.dumps(data)
        own()
""")
sys.path.insert(0, site)
import fakepkg.mod  # noqa: E402


def own_code():
    x = 0
    for i in range(3000):
        x += i


t = threading.Thread(target=fakepkg.mod.packaged, args=(own_code, seconds))
t.start()
t.join()
