"""Short file names, as py-spy shows them: in the text formats (collapsed,
svg, speedscope, chrometrace) and top, a file of the standard library is
named by its path inside it (threading.py, json/encoder.py), one in a
site-packages or dist-packages directory by its path there
(fakepkg/mod.py), and the program's own by its whole path; pprof always
keeps whole paths (go tool pprof -list opens them); --full-filenames shows
whole paths everywhere.  Locally and through pybpfd."""
import json
import os
import subprocess

from pybpf_testlib import PYBPFCTL, PYTHON, WORKLOADS, Daemon, Pprof, check, record, tmpdir

script = os.path.join(WORKLOADS, "filenames.py")
d = tmpdir()
packages = os.path.join(d, "pkgs")
minor = subprocess.run([PYTHON, "-c", "import sys; print(sys.version_info[1])"], stdout=subprocess.PIPE,
                       text=True).stdout.strip()
site_mod = os.path.join(packages, "lib", f"python3.{minor}", "site-packages", "fakepkg", "mod.py")
stdlib = os.path.dirname(subprocess.run([PYTHON, "-c", "import threading; print(threading.__file__)"],
                                        stdout=subprocess.PIPE, text=True).stdout.strip())
SHORT = {"threading": "threading.py", "json": "json/encoder.py", "pkg": "fakepkg/mod.py", "own": script}
FULL = {"threading": os.path.join(stdlib, "threading.py"), "json": os.path.join(stdlib, "json", "encoder.py"),
        "pkg": site_mod, "own": script}


def files_in_text(path):
    with open(path) as f:
        return f.read()


def check_text(how, text, want, short):
    """Each kind of file as wanted, and never the other way.  A short name
    is the tail of the whole one: shown whole, every short name in the text
    is inside a whole one."""
    speedscope = "speedscope" in how
    form = (lambda n: f'"file":"{n}"') if speedscope else (lambda n: f"{n}:")
    for k, name in want.items():
        check(form(name) in text, f"{how}: the {k} file shows as {name}")
    for k in ("threading", "json", "pkg"):
        if short:
            check(form(FULL[k]) not in text, f"{how}: and never as {FULL[k]}")
        elif not speedscope:
            check(text.count(form(SHORT[k])) == text.count(form(FULL[k])), f"{how}: and never as {SHORT[k]}")
        else:
            check(form(SHORT[k]) not in text, f"{how}: and never as {SHORT[k]}")


def capture(name, extra, daemon=None):
    outs = [os.path.join(d, f"{name}.{ext}") for ext in ("pb.gz", "txt", "svg", "speedscope.json", "trace")]
    args = sum((["-o", o] for o in outs), []) + extra
    cmd = [PYTHON, script, "3", packages]
    if daemon:
        daemon.ctl("record", "-q", *args, "--", *cmd)
    else:
        record(["-r", "499"] + args, cmd, local=True)
    return outs


daemon = Daemon()
try:
    for how, extra, want in (("default", [], SHORT), ("--full-filenames", ["--full-filenames"], FULL)):
        for via in ("", "through pybpfd, "):
            outs = capture(how.strip("-") + ("-d" if via else ""), extra, daemon if via else None)
            prof = Pprof(outs[0])
            files = {loc["file"] for loc in prof.locations.values()}
            check(FULL["threading"] in files and site_mod in files and script in files,
                  f"{via}{how}: pprof keeps whole paths")
            for o, fmt in zip(outs[1:], ("collapsed", "svg", "speedscope", "chrometrace")):
                check_text(f"{via}{how}: {fmt}", files_in_text(o), want, not extra)
finally:
    daemon.stop()

# top: the rows' files
for how, extra, want in (("default", [], SHORT), ("--full-filenames", ["--full-filenames"], FULL)):
    p = subprocess.run([PYBPFCTL, "--no-daemon", "top", "--once", "--json", "--interval", "2", *extra, "--",
                        PYTHON, script, "3", packages], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=60)
    check(p.returncode == 0, f"top {how} exits 0 ({p.stderr.strip()})")
    files = {r["file"] for r in json.loads(p.stdout)["rows"]}
    check({want["threading"], want["pkg"], want["own"]} <= files,
          f"top {how}: rows name {want['threading']}, {want['pkg']}, {want['own']} ({sorted(files)[:8]})")
print("PASS")
