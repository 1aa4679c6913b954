#!/usr/bin/env bash
# Checks packaging/pybpfd.service without systemd as PID 1:
#   - "systemd-analyze security --offline=yes": the overall exposure is at
#     most MAX_EXPOSURE;
#   - no capability of CapabilityBoundingSet= is one that another setting of
#     the unit silently drops (ProtectKernelLogs= drops CAP_SYSLOG, ...);
#   - every capability it keeps is documented in pybpfd(8);
#   - "systemd-analyze verify" has no complaint.  verify wants ExecStart= to
#     exist: the unit's /usr/sbin/pybpfd is replaced by the build's pybpfd
#     ($PYBPF_BUILD_DIR, else build/) when there is one; with neither, the
#     one complaint "not executable" about /usr/sbin/pybpfd is ignored (and
#     said so), any other one fails.
# Prints every check and exits 1 if any failed.
#   tests/packaging/test_unit_security.sh [UNIT]
# Needs systemd-analyze (package systemd, scripts/install-deps.sh) and man.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
unit=${1:-$root/packaging/pybpfd.service}
manpage=$root/packaging/man/pybpfd.8
build=${PYBPF_BUILD_DIR:-$root/build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pybpf-test-unit.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# the highest acceptable "Overall exposure level" (issue 11); pybpfd(8),
# section SANDBOX, records the current one
MAX_EXPOSURE=3.0

failures=0
pass() { echo "ok:   $*"; }
fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

if ! command -v systemd-analyze >/dev/null; then
	echo "FAIL: systemd-analyze not found (package systemd: scripts/install-deps.sh)"
	exit 1
fi
echo "== $(systemd-analyze --version | head -n 1), unit $unit"
if [ ! -f "$unit" ]; then
	echo "FAIL: no unit $unit"
	exit 1
fi
# systemd-analyze wants the unit under its own name
mkdir -p "$tmp/unit" "$tmp/man/man8"
cp "$unit" "$tmp/unit/pybpfd.service"

echo "== systemd-analyze security --offline=yes"
out=$(cd "$tmp/unit" && systemd-analyze security --offline=yes --no-pager pybpfd.service 2>&1)
rc=$?
line=$(grep 'Overall exposure level' <<<"$out")
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p' <<<"$line")
if [ -z "$score" ]; then
	fail "systemd-analyze security (exit $rc) gave no exposure level: $out"
else
	# what is still exposed, for the log
	grep '✗' <<<"$out" | sed 's/^/      /'
	if awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
		pass "exposure $score (at most $MAX_EXPOSURE)"
	else
		fail "exposure $score, above $MAX_EXPOSURE: $line"
	fi
fi

echo "== capabilities"
# the last CapabilityBoundingSet= of the unit (a unit with several lines
# would need more than this: there is one)
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$tmp/unit/pybpfd.service" | tail -n 1)
on() { grep -Eq "^$1=(yes|true|on|1)\$" "$tmp/unit/pybpfd.service"; }
# "Setting capability...": systemd drops the capability when the setting is on
# (systemd.exec(5))
dropped_any=0
while read -r setting dropped; do
	for c in $dropped; do
		if [[ " $caps " == *" $c "* ]] && on "$setting"; then
			fail "$c is in CapabilityBoundingSet= but $setting=yes drops it"
			dropped_any=1
		fi
	done
done <<'EOF'
ProtectKernelLogs CAP_SYSLOG
ProtectKernelModules CAP_SYS_MODULE
ProtectClock CAP_SYS_TIME CAP_WAKE_ALARM
PrivateDevices CAP_MKNOD CAP_SYS_RAWIO
EOF
if [ -z "$caps" ]; then
	fail "the unit has no CapabilityBoundingSet="
elif [ $dropped_any -eq 0 ]; then
	pass "bounding set: $caps (none dropped by another setting)"
fi
# pybpfd(8) gives each of them an entry (the tag of a .TP) in SANDBOX
tags=$(sed -n '/^\.SH SANDBOX/,/^\.SH [^S]/p' "$manpage" | awk 'tp { print; tp = 0 } /^\.TP/ { tp = 1 }')
for c in $caps; do
	if grep -Eq "(^|[ \"])$c([ \"]|\$)" <<<"$tags"; then
		pass "$c is documented in pybpfd(8), SANDBOX"
	else
		fail "$c is not documented in pybpfd(8), section SANDBOX"
	fi
done

echo "== systemd-analyze verify"
# Documentation=man:pybpfd(8) man:pybpfctl(8): verify runs man on them
cp "$root"/packaging/man/*.8 "$tmp/man/man8/"
exe=""
for cand in "$build/pybpfd" /usr/sbin/pybpfd; do
	if [ -x "$cand" ]; then
		exe=$cand
		break
	fi
done
if [ -n "$exe" ]; then
	sed -i "s|^ExecStart=/usr/sbin/pybpfd|ExecStart=$exe|" "$tmp/unit/pybpfd.service"
	echo "      (ExecStart=$exe)"
fi
# it exits 0 on unknown keys and bad values, printing a warning: any output
# is a complaint
out=$(cd "$tmp/unit" && MANPATH=$tmp/man systemd-analyze verify pybpfd.service 2>&1)
rc=$?
if [ -z "$exe" ]; then
	rest=$(grep -v '^pybpfd.service: Command /usr/sbin/pybpfd is not executable: No such file or directory$' <<<"$out")
	if [ -z "$rest" ]; then
		echo "      (no pybpfd in $build nor in /usr/sbin: its complaint that" \
			"/usr/sbin/pybpfd is not executable is ignored; build pybpfd for the full check)"
		out=""
		rc=0
	fi
fi
if [ $rc -ne 0 ] || [ -n "$out" ]; then
	fail "systemd-analyze verify (exit $rc): $out"
else
	pass "systemd-analyze verify: no complaint"
fi

if [ $failures -ne 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"
