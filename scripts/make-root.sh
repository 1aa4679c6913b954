#!/usr/bin/env bash
# make-root.sh SUITE PACKAGE...: a minimal Debian root with the given
# packages, cached under ${PYBPF_ROOTS:-/var/cache/pybpf/roots}/SUITE so test
# runs don't download it again.  Processes started in it with chroot are what
# a container looks like to a host profiler.  Fails loudly, naming the suite
# and packages, when the root cannot be made.
set -euo pipefail
suite=${1:?usage: make-root.sh SUITE PACKAGE...}
shift
pkgs=("$@")
base=${PYBPF_ROOTS:-/var/cache/pybpf/roots}
dir=$base/$suite
mirror=${PYBPF_DEBIAN_MIRROR:-http://deb.debian.org/debian}

have_all() {
	for p in "${pkgs[@]}"; do
		chroot "$dir" dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || return 1
	done
}

if [ -f "$dir/.pybpf-complete" ] && have_all; then
	echo "make-root: $dir has ${pkgs[*]}"
	exit 0
fi
command -v debootstrap >/dev/null || { echo "make-root: debootstrap is not installed" >&2; exit 1; }
mkdir -p "$base"
# (Re)made whole: a root missing a package is bootstrapped again with all of them.
rm -rf "$dir"
echo "make-root: debootstrap $suite into $dir with ${pkgs[*]} (takes a few minutes)"
include=$(IFS=,; echo "${pkgs[*]}")
if ! debootstrap --variant=minbase --include="$include" "$suite" "$dir" "$mirror" >"$base/$suite.log" 2>&1 || ! have_all; then
	echo "make-root: FAILED to make the $suite root with ${pkgs[*]} (log: $base/$suite.log):" >&2
	tail -n 5 "$base/$suite.log" >&2
	exit 1
fi
touch "$dir/.pybpf-complete"
echo "make-root: $dir ready"
