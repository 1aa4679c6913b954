#!/usr/bin/env bash
# Installs everything pybpf needs to build and test, from Debian 12's packages.
set -euo pipefail

PACKAGES=(
	build-essential cmake pkg-config clang llvm clang-format libclang-rt-14-dev
	libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev
	libprotobuf-c-dev protobuf-c-compiler libcmocka-dev
	libcurl4-openssl-dev libmicrohttpd-dev
	python3 python3.11 python3.11-dev libpython3.11-dev
	golang-go procps util-linux debootstrap
	libpython3-dev
	debhelper dpkg-dev fakeroot man-db groff-base systemd
	liblzma-dev libc6-dbg xz-utils binutils
	python3-uvloop
	python3-django gunicorn python3-flask python3-fastapi python3-uvicorn \
	postgresql python3-psycopg2
	git curl ca-certificates libssl-dev libffi-dev libbz2-dev libreadline-dev libsqlite3-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
