#!/usr/bin/env bash
# Regenerates the seed corpora of tests/fuzz/corpus/NAME (and the debug
# files of tests/fuzz/elf-debug) from real data of this machine: the line
# tables of real code objects of every CPython here, the memory a dump of
# real sleeping Pythons reads, small real ELF files, /proc text, a kallsyms
# excerpt, control messages and queue files made by the project's own
# encoders, the shipped configuration.  Needs root (it dumps processes) and
# the harnesses built: BUILD_DIR (default build-fuzz, PYBPF_FUZZ=ON).
#     tests/fuzz/make-corpus.sh [BUILD_DIR]
# The seeds are committed; run this only to refresh them.  Every file stays
# below 64 KiB.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
build=$(realpath "${1:-build-fuzz}")
fz=$build/fuzz
out=$src/tests/fuzz/corpus
[ -x "$fz/fuzz_dump" ] || {
	echo "make-corpus: no harnesses in $fz (cmake -DPYBPF_FUZZ=ON, build target fuzzers)" >&2
	exit 1
}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

names=(linetable dump elf kallsyms procmaps procfs parse proto config pushqueue pull)
for n in "${names[@]}"; do
	rm -rf "${out:?}/$n"
	mkdir -p "$out/$n"
done
roots=/var/cache/pybpf/roots

# the interpreters: pyenv's, Debian's own, and Debian's other versions in roots
pythons=()
for v in 3.9.18 3.10.13 3.11.7 3.12.1 3.13.0; do
	[ -x ~/.pyenv/versions/$v/bin/python3 ] && pythons+=("pyenv$v:$HOME/.pyenv/versions/$v/bin/python3")
done
pythons+=("debian3.11:/usr/bin/python3.11")
for spec in bullseye:3.9 trixie:3.13 sid:3.14 sid:3.15; do
	suite=${spec%%:*} v=${spec#*:}
	[ -x "$roots/$suite/usr/bin/python$v" ] && pythons+=("root$v:chroot:$roots/$suite:/usr/bin/python$v")
done
run_python() { # SPEC ARGS...: runs one interpreter of the list
	local spec=$1
	shift
	case $spec in
	*:chroot:*)
		local rest=${spec#*:chroot:}
		chroot "${rest%%:*}" "${rest#*:}" "$@"
		;;
	*) "${spec#*:}" "$@" ;;
	esac
}

# --- linetable: [minor - 9][instr LE32][co_firstlineno LE32][table] ------
cat >"$tmp/lt.py" <<'EOF'
import sys, struct, importlib
minor = sys.version_info[1]
codes = []
def walk(co):
    codes.append(co)
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            walk(c)
for name in ("textwrap", "json.decoder", "string", "heapq", "shlex", "fnmatch", "argparse"):
    m = importlib.import_module(name)
    walk(compile(open(m.__file__).read(), m.__file__, "exec"))
def table(co):
    return co.co_lnotab if minor <= 9 else co.co_linetable
codes = [c for c in codes if 0 < len(table(c)) <= 3000]
codes.sort(key=lambda c: len(table(c)))
pick = {codes[int(i * (len(codes) - 1) / 7)] for i in range(8)}
for i, co in enumerate(sorted(pick, key=lambda c: len(table(c)))):
    instr = 2 * (len(co.co_code) // 4)  # an instruction in the middle
    blob = bytes([minor - 9]) + struct.pack("<ii", instr, co.co_firstlineno) + table(co)
    print("%s-%d %s" % (co.co_name.strip("<>"), i, blob.hex()))
EOF
for spec in "${pythons[@]}"; do
	tag=${spec%%:*}
	run_python "$spec" - <"$tmp/lt.py" | while read -r name hex; do
		python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes.fromhex(sys.argv[2]))' \
			"$out/linetable/$tag-$name" "$hex"
	done
done

# --- dump: the reads of a dump (and a task listing) of real sleeping Pythons
cat >"$tmp/sleeper.py" <<'EOF'
import threading, time
def leaf(n, tag):
    if n == 0:
        values = ("s\u00e9", b"b\x00", 2 ** 100, 7 * 10 ** 500, -3, 0.5, None, True,
                  [1, [2, [3, [4]]]], {"k": (1,)}, {3}, frozenset({4}), Worker())
        def closure():
            return values
        time.sleep(3600)
    return leaf(n - 1, tag)
class Worker:
    def run(self):
        leaf(4, "worker")
threading.Thread(target=Worker().run, name="worker", daemon=True).start()
import asyncio
async def waiter(i):
    await asyncio.sleep(3600)
async def gathered():
    await asyncio.gather(*(asyncio.create_task(waiter(i), name="seed-%d" % i) for i in range(3)))
# asyncio tasks for the tasks reader (3.11+: named, gathered, in a thread's loop)
threading.Thread(target=lambda: asyncio.run(gathered()), name="loop", daemon=True).start()
def main():
    leaf(7, "main")
main()
EOF
for spec in "${pythons[@]}"; do
	tag=${spec%%:*}
	case $spec in
	*:chroot:*)
		root=${spec#*:chroot:}
		root=${root%%:*}
		cp "$tmp/sleeper.py" "$root/tmp/pybpf-sleeper.py"
		chroot "$root" "${spec##*:}" /tmp/pybpf-sleeper.py &
		;;
	*) "${spec#*:}" "$tmp/sleeper.py" & ;;
	esac
	pid=$!
	pids+=("$pid")
	sleep 1.5
	if PYBPF_FUZZ_RECORD_PID=$pid PYBPF_FUZZ_RECORD_OUT="$out/dump/$tag" \
		"$fz/fuzz_dump" 2>"$tmp/dump-$tag.log"; then
		echo "dump seed $tag: $(stat -c %s "$out/dump/$tag") bytes"
	else
		echo "dump seed $tag: failed: $(tail -1 "$tmp/dump-$tag.log")" >&2
		rm -f "$out/dump/$tag"
	fi
	# a file of the interpreter's own process: the maps seed
	if [ "$tag" = pyenv3.11.7 ]; then cp "/proc/$pid/maps" "$tmp/maps-python"; fi
	kill "$pid" 2>/dev/null || true
	case $spec in *:chroot:*) rm -f "$root/tmp/pybpf-sleeper.py" ;; esac
done
wait 2>/dev/null || true

# --- elf: small real objects, and one program stripped every way ---------
tests/data/make-debug-fixtures.sh "$src/tests/data/debugtarget.c" "$tmp/dbg" clang >/dev/null
for f in full buildid linked badcrc mini bare; do cp "$tmp/dbg/$f" "$out/elf/fixture-$f"; done
rm -rf tests/fuzz/elf-debug
mkdir -p tests/fuzz/elf-debug/pybpf-fuzz/lib
cp -r "$tmp/dbg/dbg/.build-id" tests/fuzz/elf-debug/
cp "$tmp/dbg/linked.debug" tests/fuzz/elf-debug/pybpf-fuzz/lib/
cp "$tmp/dbg/badcrc.debug" tests/fuzz/elf-debug/pybpf-fuzz/lib/
for spec in "pyenv3.11-_contextvars.so:$HOME/.pyenv/versions/3.11.7/lib/python3.11/lib-dynload/_contextvars.cpython-311-x86_64-linux-gnu.so" \
	"debian3.11-_contextvars.so:/usr/lib/python3.11/lib-dynload/_contextvars.cpython-311-x86_64-linux-gnu.so" \
	"libBrokenLocale.so.1:/usr/lib/x86_64-linux-gnu/libBrokenLocale.so.1"; do
	f=${spec#*:}
	[ -f "$f" ] && cp "$f" "$out/elf/${spec%%:*}"
done
# an interpreter's marks: .PyRuntime, _PyRuntime without Py_Version, and its
# version string in .rodata (what a CPython before 3.11 has)
cat >"$tmp/pyish.c" <<'EOF'
__attribute__((section(".PyRuntime"), used)) char _PyRuntime[64];
const char *const version_strings[] = {"3.10.13", "3.10.13 (main, Nov 1 2023)",
				       "/usr/lib/python3.10", "3.10.13"};
int Py_Initialize(void) { return version_strings[0][0] + _PyRuntime[1]; }
EOF
clang -O1 -shared -fPIC -Wl,--build-id=sha1 -o "$out/elf/pyish.so" "$tmp/pyish.c"
for f in "$out"/elf/*; do
	[ "$(stat -c %s "$f")" -lt 65536 ] || { echo "dropping $f: 64 KiB or more" >&2; rm "$f"; }
done

# --- kallsyms: the start of the text, its ends, some module symbols -------
{
	grep -m 60 -E ' [tTwW] ' /proc/kallsyms
	grep -E ' (_etext|_einittext|__entry_text_end|__cpuidle_text_end|_sinittext|_stext)$' /proc/kallsyms
	grep -m 40 -E '\[[a-z0-9_]+\]$' /proc/kallsyms
} >"$out/kallsyms/kallsyms-excerpt"
grep -m 30 -E ' [dDbBrR] ' /proc/kallsyms >"$out/kallsyms/kallsyms-data"
printf '0000000000000000 T _text\n0000000000000000 t startup_64\n' >"$out/kallsyms/kallsyms-unprivileged"

# --- procmaps -----------------------------------------------------------
cp /proc/self/maps "$out/procmaps/maps-shell"
[ -f "$tmp/maps-python" ] && cp "$tmp/maps-python" "$out/procmaps/maps-pyenv3.11"
/usr/bin/python3.11 -c 'import sys; sys.stdout.write(open("/proc/self/maps").read())' >"$out/procmaps/maps-debian3.11"
for f in "$out"/procmaps/*; do head -c 16000 "$f" >"$f.cut" && mv "$f.cut" "$f"; done

# --- procfs: [selector][text] -------------------------------------------
seed() { # DIR NAME SELECTOR: stdin after the selector byte
	{ printf "\\x$(printf %02x "$3")"; cat; } >"$out/$1/$2"
}
seed procfs cgroup-self 0 </proc/self/cgroup
seed procfs cgroup-init 0 </proc/1/cgroup
printf '12:pids:/docker/0123456789abcdef\n1:name=systemd:/docker/0123456789abcdef/init\n0::/\n' | seed procfs cgroup-v1 0
seed procfs status-self 1 </proc/self/status
/usr/bin/python3.11 -c 'import sys; sys.stdout.write(open("/proc/self/stat").read())' | seed procfs stat-python 2
sleep 30 &
pids+=($!)
sleep 0.2
seed procfs syscall-sleep 3 <"/proc/$!/syscall"
seed procfs stat-sleep 2 <"/proc/$!/stat"
printf 'running\n' | seed procfs syscall-running 3
seed procfs unit-init 4 </proc/1/cgroup
printf '0::/system.slice/web.service\n' | seed procfs unit-web 4
printf '0::/user.slice/user-1000.slice/user@1000.service/app.slice/api.service\n' | seed procfs unit-user 4
id=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
printf '0::/system.slice/docker-%s.scope\n' $id | seed procfs container-docker 5
printf '0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234_5678.slice/cri-containerd-%s.scope\n' $id | seed procfs container-k8s 5
printf '0::/machine.slice/libpod-%s.scope/container\n' $id | seed procfs container-podman 5
# the command lines of real interpreters started as a service would be
cat >"$tmp/app.py" <<'EOF'
import sys
sys.stdout.buffer.write(open("/proc/self/cmdline", "rb").read())
EOF
cp "$tmp/app.py" "$tmp/cmdline_mod.py"
(cd "$tmp" && /usr/bin/python3.11 app.py --port 8080) | seed procfs cmdline-script 6
(cd "$tmp" && /usr/bin/python3.11 -u -X dev -m cmdline_mod serve) | seed procfs cmdline-module 6
/usr/bin/python3.11 -c 'import sys; sys.stdout.buffer.write(open("/proc/self/cmdline", "rb").read())' |
	seed procfs cmdline-c 6
env -i PYBPF_SERVICE=web-api LANG=C.UTF-8 PATH=/usr/bin:/bin HOME=/srv/app \
	/usr/bin/python3.11 -c 'import sys; sys.stdout.buffer.write(open("/proc/self/environ","rb").read())' |
	seed procfs environ-service 7

# --- parse: [min LE64][max LE64][text] ----------------------------------
bounds() { python3 -c "import struct,sys; sys.stdout.buffer.write(struct.pack('<$1', $2, $3))"; }
i=0
for s in 99 10000 0 -1 18446744073709551615 99999999999999999999 2.5 1e-3 -0.5 1e999 true Off 12abc " 5"; do
	i=$((i + 1))
	{ bounds QQ 1 10000; printf '%s' "$s"; } >"$out/parse/u64-$i"
	{ bounds dd 0.0 600.0; printf '%s' "$s"; } >"$out/parse/double-$i"
done

# --- pull: [present bits][seconds\0pid\0service] ------------------------
printf '\x07%s\0%s\0%s' 30 1234 web-api >"$out/pull/all"
printf '\x01%s' 10 >"$out/pull/seconds"
printf '\x02\0%s' 4242 >"$out/pull/pid"
printf '\x07%s\0%s\0%s' 601 0 "" >"$out/pull/bad"

# --- config: [even][file] or [odd][key\0value] --------------------------
seed config pybpfd.conf 0 <packaging/pybpfd.conf
printf '# a reload\nrate_hz = 199\npush = yes\npush_url = "http://pyroscope:4040/#x"\npush_labels = "env=prod,region=eu"   # quoted\nservice_rule = env:APP_NAME, unit, script\nlog_level = debug\nspool_max_mb=1024\n' |
	seed config edited 0
printf 'rate_hz\0%s' 199 | seed config set-rate 1
printf 'service_rule\0%s' "env:PYBPF_SERVICE,container" | seed config set-rule 1
printf 'pull_listen\0%s' "[::1]:6171" | seed config set-listen 1

# --- proto and pushqueue: encoded by the project's own code --------------
PYBPF_FUZZ_WRITE_SEEDS=$out/proto "$fz/fuzz_proto"
PYBPF_FUZZ_WRITE_SEEDS=$out/pushqueue "$fz/fuzz_pushqueue"

total=$(du -sb "$out" tests/fuzz/elf-debug | awk '{ s += $1 } END { print s }')
echo "corpus: $(find "$out" -type f | wc -l) files, $total bytes"
for n in "${names[@]}"; do printf '  %-10s %s files\n' "$n" "$(find "$out/$n" -type f | wc -l)"; done
