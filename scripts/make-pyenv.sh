#!/usr/bin/env bash
# Builds the pyenv CPythons the per-interpreter tests run on, when missing:
# shared libpython with full symbols (take_gil and drop_gil in .symtab),
# built from CPython's own sources.  Present ones are left alone, so on a
# machine that has them this does nothing.  Needs network the first time
# (pyenv from GitHub, sources from python.org) and a few minutes a version.
#   scripts/make-pyenv.sh [VERSION...]   (default: the matrix's)
set -euo pipefail
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(3.9.18 3.10.13 3.11.7 3.12.1 3.13.0)
PYENV_ROOT=${PYENV_ROOT:-$HOME/.pyenv}
export PYENV_ROOT

missing=()
for v in "${VERSIONS[@]}"; do
	minor=${v%.*}
	# any build of that minor version will do (the tests take the newest)
	ls "$PYENV_ROOT"/versions/"$minor".*/bin/python"$minor" >/dev/null 2>&1 || missing+=("$v")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "make-pyenv: all ${#VERSIONS[@]} pyenv CPythons present in $PYENV_ROOT/versions"
	exit 0
fi
if [ ! -x "$PYENV_ROOT/bin/pyenv" ]; then
	echo "make-pyenv: installing pyenv into $PYENV_ROOT"
	git clone --depth 1 https://github.com/pyenv/pyenv.git "$PYENV_ROOT"
fi
for v in "${missing[@]}"; do
	echo "make-pyenv: building CPython $v (shared libpython, with symbols)"
	PYTHON_CONFIGURE_OPTS="--enable-shared" MAKE_OPTS="-j$(nproc)" \
		"$PYENV_ROOT/bin/pyenv" install -s "$v"
done
