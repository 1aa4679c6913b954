#!/usr/bin/env bash
# Builds the Debian package with scripts/build-deb.sh (from the working tree)
# and checks it: the programs, the unit, the configuration as a conffile, the
# man pages (gzip'd, rendered by man without warnings), the bash completion;
# that the configuration documents exactly the keys of the man page (and,
# once pybpfd has --check-config, exactly its built-in defaults); that the
# unit passes "systemd-analyze verify" and keeps its security exposure.
# Prints every failed check and exits 1 if there is any.
#   tests/packaging/test_deb.sh
# Needs the packages of scripts/install-deps.sh (debhelper, dpkg-dev, man-db,
# systemd ...); root is not needed except for what the build needs.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pybpf-test-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# the highest acceptable "Overall exposure level" of systemd-analyze security
# (packaging/README.md records the current one)
MAX_EXPOSURE=3.0

failures=0
pass() { echo "ok:   $*"; }
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

echo "== building the package (scripts/build-deb.sh)"
# TMPDIR: the build tree (kept by build-deb.sh on failure) goes with $tmp
if ! TMPDIR=$tmp "$root/scripts/build-deb.sh" "$tmp/out" >"$tmp/build.log" 2>&1; then
	echo "-- errors:"
	grep -E -A6 'CMake Error|error:|Error [0-9]' "$tmp/build.log" | head -n 60
	echo "-- last lines:"
	tail -n 15 "$tmp/build.log"
	echo "FAIL: scripts/build-deb.sh failed (its errors and last lines are above)"
	exit 1
fi
debs=("$tmp"/out/pybpf_*.deb)
if [ ${#debs[@]} -ne 1 ] || [ ! -f "${debs[0]}" ]; then
	ls -l "$tmp/out"
	echo "FAIL: expected exactly one pybpf_*.deb in the output"
	exit 1
fi
deb=${debs[0]}
pass "built $(basename "$deb")"

echo "== contents (dpkg-deb -c)"
# "perms owner size date time ./path [-> target]": the path and the perms
dpkg-deb -c "$deb" | awk '{ print $6 "\t" $1 }' | sed 's|^\./|/|' >"$tmp/contents"
has() { # has PATH [PERMS]
	local line
	line=$(awk -F'\t' -v p="$1" '$1 == p' "$tmp/contents")
	if [ -z "$line" ]; then
		fail "$1 is not in the package"
	elif [ -n "${2:-}" ] && [ "${line#*$'\t'}" != "$2" ]; then
		fail "$1 has mode ${line#*$'\t'}, not $2"
	else
		pass "$1${2:+ ($2)}"
	fi
}
has /usr/sbin/pybpfd -rwxr-xr-x
has /usr/sbin/pybpfctl -rwxr-xr-x
# Debian 12's dh_installsystemd handles units in /lib/systemd/system only
has /lib/systemd/system/pybpfd.service -rw-r--r--
has /etc/pybpf/pybpfd.conf -rw-r--r--
has /usr/share/man/man8/pybpfd.8.gz -rw-r--r--
has /usr/share/man/man8/pybpfctl.8.gz -rw-r--r--
has /usr/share/bash-completion/completions/pybpfctl -rw-r--r--
has /usr/share/doc/pybpf/copyright

echo "== control information (dpkg-deb -I)"
if dpkg-deb -I "$deb" conffiles 2>/dev/null | grep -qx /etc/pybpf/pybpfd.conf; then
	pass "/etc/pybpf/pybpfd.conf is a conffile"
else
	fail "/etc/pybpf/pybpfd.conf is not listed in conffiles"
fi
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = pybpf ] && pass "Package: pybpf" || fail "Package is '$(field Package)'"
[ "$(field Section)" = utils ] && pass "Section: utils" || fail "Section is '$(field Section)'"
depends=$(field Depends)
for d in adduser libbpf1 libelf1; do
	case ", $depends," in
	*", $d"[\ ,]*) pass "Depends on $d" ;;
	*) fail "Depends lacks $d: $depends" ;;
	esac
done
postinst=$(dpkg-deb -I "$deb" postinst 2>/dev/null)
if grep -q 'addgroup --system' <<<"$postinst"; then
	pass "postinst creates the system group pybpf"
else
	fail "postinst does not run addgroup --system"
fi
# the group must exist before debhelper's snippet starts the service
if awk '/addgroup --system/ { g = NR } /deb-systemd-invoke/ && !s { s = NR }
	END { exit !(g && s && g < s) }' <<<"$postinst"; then
	pass "postinst creates the group before it starts pybpfd"
else
	fail "postinst does not create the group before starting pybpfd"
fi

dpkg-deb -x "$deb" "$tmp/root"
R=$tmp/root

echo "== man pages (man -l)"
for page in pybpfd pybpfctl; do
	f=$R/usr/share/man/man8/$page.8.gz
	if ! gzip -t "$f" 2>/dev/null; then
		fail "$page.8.gz is not gzip'd"
		continue
	fi
	if ! LC_ALL=C.UTF-8 MANWIDTH=80 man -l --warnings=w "$f" >"$tmp/$page.txt" 2>"$tmp/$page.err"; then
		fail "man -l $page.8.gz failed: $(cat "$tmp/$page.err")"
	elif [ -s "$tmp/$page.err" ]; then
		fail "man -l $page.8.gz warns: $(cat "$tmp/$page.err")"
	else
		missing=""
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS SIGNALS FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
			grep -qx "$s" "$tmp/$page.txt" || missing="$missing '$s'"
		done
		if [ "$page" = pybpfd ] && ! grep -qx CONFIGURATION "$tmp/$page.txt"; then
			missing="$missing 'CONFIGURATION'"
		fi
		[ -z "$missing" ] && pass "man -l $page.8.gz renders, no warnings" ||
			fail "$page(8) lacks the sections$missing"
	fi
done

echo "== configuration"
conf=$R/etc/pybpf/pybpfd.conf
# "key = value" lines of the file, and ".BR key " = " value" items of the page
sed -n 's/^\([a-z_][a-z_0-9]*\)[[:space:]]*=.*/\1/p' "$conf" | sort >"$tmp/conf.keys"
zcat "$R/usr/share/man/man8/pybpfd.8.gz" |
	sed -n 's/^\.BR \([a-z_][a-z_0-9]*\) " = ".*/\1/p; s/^\.BR \([a-z_][a-z_0-9]*\) " ="$/\1/p' |
	sort >"$tmp/man.keys"
if [ ! -s "$tmp/conf.keys" ]; then
	fail "pybpfd.conf sets no key"
elif ! diff -u "$tmp/conf.keys" "$tmp/man.keys" >"$tmp/keys.diff"; then
	fail "the keys of pybpfd.conf (-) and of pybpfd(8) CONFIGURATION (+) differ:"
	sed -n '3,$p' "$tmp/keys.diff"
else
	pass "pybpfd.conf and pybpfd(8) document the same $(wc -l <"$tmp/conf.keys") keys"
fi
if [ -n "$(sort "$tmp/conf.keys" | uniq -d)" ]; then
	fail "pybpfd.conf sets keys twice: $(uniq -d "$tmp/conf.keys" | tr '\n' ' ')"
fi
if "$R/usr/sbin/pybpfd" --help 2>&1 | grep -q -- --check-config; then
	# the shipped file must change nothing: same effective values as no file
	if ! "$R/usr/sbin/pybpfd" -c "$conf" --check-config >"$tmp/conf.eff" 2>"$tmp/conf.err"; then
		fail "pybpfd --check-config rejects pybpfd.conf: $(cat "$tmp/conf.err")"
	elif ! "$R/usr/sbin/pybpfd" -c /dev/null --check-config >"$tmp/defaults.eff" 2>&1; then
		fail "pybpfd -c /dev/null --check-config failed: $(cat "$tmp/defaults.eff")"
	elif ! diff -u "$tmp/defaults.eff" "$tmp/conf.eff" >"$tmp/eff.diff"; then
		fail "pybpfd.conf (+) is not the built-in defaults (-):"
		sed -n '3,$p' "$tmp/eff.diff"
	else
		pass "pybpfd --check-config: pybpfd.conf is exactly the built-in defaults"
	fi
else
	echo "skip: pybpfd has no --check-config yet: the file's values are not checked against it"
fi

echo "== bash completion"
comp=$R/usr/share/bash-completion/completions/pybpfctl
# complete LINE: the candidates of the last word of LINE, one line
complete_line() {
	bash -c '
		. "$1" || exit 1
		COMP_LINE=$2 COMP_POINT=${#2}
		read -ra COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_pybpfctl pybpfctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		echo "${COMPREPLY[*]}"' complete "$comp" "$1"
}
expect_completion() { # LINE EXPECTED
	local got
	got=$(complete_line "$1" 2>&1)
	[ "$got" = "$2" ] && pass "completion of '$1'" ||
		fail "completion of '$1': expected '$2', got '$got'"
}
if bash -n "$comp"; then
	expect_completion "pybpfctl " "record dump gil io asyncio requests status ps top version"
	expect_completion "pybpfctl requests --n" "--no-sql-text"
	expect_completion "pybpfctl requests --s" "--subprocesses"
	expect_completion "pybpfctl record -m " "cpu wall offcpu gil"
	expect_completion "pybpfctl record -f s" "svg speedscope"
	expect_completion "pybpfctl gil --" "--pid --duration --rate --json --help"
	expect_completion "pybpfctl --socket /x top --o" "--once"
	# exec -a: a process whose command line says python, for --pid
	(exec -a python3-pybpf-test sleep 30) &
	pypid=$!
	sleep 0.2
	got=$(complete_line "pybpfctl dump --pid ")
	kill "$pypid" 2>/dev/null
	case " $got " in
	*" $pypid "*) pass "completion of --pid offers Python processes" ;;
	*) fail "completion of --pid: pid $pypid (python) not in '$got'" ;;
	esac
else
	fail "the bash completion has syntax errors"
fi

echo "== systemd unit"
unit=$R/lib/systemd/system/pybpfd.service
if ! command -v systemd-analyze >/dev/null; then
	fail "systemd-analyze is missing (package systemd)"
else
	# systemd-analyze verify works without systemd as PID 1, but it checks
	# that ExecStart= exists and that the Documentation= man pages open, on
	# this machine: point ExecStart at the extracted binary and MANPATH at the
	# extracted pages.  (--root= does not help: it then wants sysinit.target.)
	# It exits 0 on unknown keys and bad values, printing a warning:
	# any output is a failure.
	mkdir -p "$tmp/unit"
	sed "s|^ExecStart=/usr/sbin/pybpfd|ExecStart=$R/usr/sbin/pybpfd|" "$unit" >"$tmp/unit/pybpfd.service"
	if ! grep -q "^ExecStart=$R/usr/sbin/pybpfd" "$tmp/unit/pybpfd.service"; then
		fail "the unit does not run /usr/sbin/pybpfd"
	fi
	out=$(cd "$tmp/unit" && MANPATH=$R/usr/share/man systemd-analyze verify pybpfd.service 2>&1)
	rc=$?
	if [ $rc -ne 0 ] || [ -n "$out" ]; then
		fail "systemd-analyze verify (exit $rc): $out"
	else
		pass "systemd-analyze verify: no complaint"
	fi
	# security exposure, offline (no systemd needed)
	line=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1 | grep 'Overall exposure level')
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$line")
	if [ -z "$score" ]; then
		fail "systemd-analyze security gave no exposure level: $line"
	elif awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
		pass "systemd-analyze security: exposure $score (at most $MAX_EXPOSURE)"
	else
		fail "systemd-analyze security: exposure $score, above $MAX_EXPOSURE: $line"
	fi
fi

echo
if [ $failures -ne 0 ]; then
	echo "test_deb: $failures check(s) failed"
	exit 1
fi
echo "test_deb: all checks passed"
