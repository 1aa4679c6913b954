#!/usr/bin/env bash
# Builds the Debian package (dpkg-buildpackage -b) from the working tree:
# tracked files and new ones not ignored, uncommitted changes included.
# The .deb files land in out/ (or in $1).
#   scripts/build-deb.sh [OUTDIR]
# Build dependencies: scripts/install-deps.sh.  The build runs in a temporary
# directory, kept (and named) when it fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$root/out}")

version=$(dpkg-parsechangelog -l "$root/packaging/debian/changelog" -S Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/pybpf-deb.XXXXXX")
src=$work/pybpf-${version%-*}
mkdir -p "$src"
ok=false
cleanup() {
	if $ok; then
		rm -rf "$work"
	else
		echo "build-deb: failed; the build tree is kept in $work" >&2
	fi
}
trap cleanup EXIT

# the working tree: files in the index that still exist, and untracked ones
# that .gitignore does not exclude
cd "$root"
git ls-files -z -co --exclude-standard |
	while IFS= read -r -d '' f; do
		if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
	done |
	tar --null --no-recursion -T - -cf - | tar -xf - -C "$src"
rm -rf "$src/debian"
cp -a "$root/packaging/debian" "$src/debian"

echo "build-deb: building pybpf $version in $src"
cd "$src"
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS:-parallel=$(nproc)}
dpkg-buildpackage -us -uc -b

mkdir -p "$out"
debs=("$work"/*.deb)
cp "${debs[@]}" "$out/"
for d in "${debs[@]}"; do
	echo "build-deb: $out/$(basename "$d")"
done
ok=true
