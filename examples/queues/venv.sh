#!/usr/bin/env bash
# examples/queues/venv.sh [DIR]: print the path of a python that has redis-py 5.2.1, making
# one if needed. In order: $QUEUE_PYTHON; the conformance suites' venv
# (../shared/conformance/work/venv) when it has redis 5.2.1; else the venv DIR (default
# ${CARGO_TARGET_DIR:-target}/queue-venv), created with `python3 -m venv` +
# `pip install redis==5.2.1` the first time (needs network to PyPI). Progress on stderr,
# only the path on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
has_redis() { "$1" -c 'import redis, sys; sys.exit(redis.__version__ != "5.2.1")' 2>/dev/null; }
if [ -n "${QUEUE_PYTHON:-}" ]; then echo "$QUEUE_PYTHON"; exit 0; fi
SHARED="$ROOT/../shared/conformance/work/venv/bin/python"
if [ -x "$SHARED" ] && has_redis "$SHARED"; then echo "$SHARED"; exit 0; fi
DIR="${1:-${CARGO_TARGET_DIR:-$ROOT/target}/queue-venv}"
if [ -x "$DIR/bin/python" ] && has_redis "$DIR/bin/python"; then echo "$DIR/bin/python"; exit 0; fi
# one creator at a time (cargo runs test binaries in parallel; scripts/test may race too)
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock 9
if ! { [ -x "$DIR/bin/python" ] && has_redis "$DIR/bin/python"; }; then
  echo "venv.sh: creating $DIR with redis==5.2.1" >&2
  rm -rf "$DIR"
  "${PYTHON:-python3}" -m venv "$DIR" >&2
  "$DIR/bin/pip" install -q --disable-pip-version-check redis==5.2.1 >&2
fi
has_redis "$DIR/bin/python"
echo "$DIR/bin/python"
