#!/bin/sh
# Builds the fixtures of test_debuginfo into OUT: one program, stripped in
# every way a distribution ships it, with its debug information where gdb
# would look for it.
#   full      with its symbols
#   buildid   stripped; dbg/.build-id/xx/rest.debug holds its symbols
#   linked    stripped, .gnu_debuglink to linked.debug beside it
#   badcrc    stripped, .gnu_debuglink to badcrc.debug, whose CRC differs
#   mini      stripped, MiniDebugInfo (.gnu_debugdata) as Fedora makes it
#   bare      stripped, nothing: only its call frame information is left
set -eu
src=$1 out=$2 cc=${3:-cc}
mkdir -p "$out/dbg"
cd "$out"
"$cc" -g -O1 -fno-inline -Wl,--build-id=sha1 -o full "$src"

id=$(readelf -n full | sed -n 's/.*Build ID: \([0-9a-f]*\).*/\1/p')
mkdir -p "dbg/.build-id/$(echo "$id" | cut -c1-2)"
objcopy --only-keep-debug full "dbg/.build-id/$(echo "$id" | cut -c1-2)/$(echo "$id" | cut -c3-).debug"
objcopy --strip-all full buildid

objcopy --only-keep-debug full linked.debug
objcopy --strip-all --add-gnu-debuglink=linked.debug full linked

cp linked.debug badcrc.debug
objcopy --strip-all --add-gnu-debuglink=badcrc.debug full badcrc
printf 'x' >> badcrc.debug

# MiniDebugInfo: the function symbols .dynsym lacks, xz'd into .gnu_debugdata
nm -D full --format=posix --defined-only | awk '{ print $1 }' | sort > dynsyms
nm full --format=posix --defined-only | awk '{ if ($2 == "T" || $2 == "t") print $1 }' | sort > funcsyms
comm -13 dynsyms funcsyms > keep
objcopy --only-keep-debug full mini.full
objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols=keep mini.full mini.debug
rm -f mini.debug.xz
xz -k mini.debug
objcopy --strip-all --remove-section .comment full mini
objcopy --add-section .gnu_debugdata=mini.debug.xz mini

objcopy --strip-all full bare
