#!/usr/bin/env bash
# The Debian roots the integration tests run interpreters from.
set -euo pipefail
here=$(dirname "$0")
"$here/make-root.sh" bullseye python3.9 python3.9-dev
"$here/make-root.sh" trixie python3.13 python3.13-dev
"$here/make-root.sh" sid python3.14 python3.14-dev python3.14-dbg python3.15 python3.15-dev
