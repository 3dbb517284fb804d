#!/usr/bin/env bash
# Install what the tests need and run the whole suite: lint, types, tests on SQLite and PostgreSQL.
# Usage: bash scripts/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

# 1. System packages: SIPp (Debian: sip-tester), Kamailio with its TLS module, baresip, openssl
#    (test certificates), espeak-ng, sox, and Chromium for the
#    dashboard test (Debian's package; Playwright drives it, so never `playwright install`).
need=()
command -v sipp >/dev/null || need+=(sip-tester)
command -v kamailio >/dev/null || [ -x /usr/sbin/kamailio ] || need+=(kamailio)
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] || ls /usr/lib/*/kamailio/modules/tls.so >/dev/null 2>&1 \
  || need+=(kamailio-tls-modules)
command -v baresip >/dev/null || need+=(baresip-core)  # the UA without its GTK front end
command -v openssl >/dev/null || need+=(openssl)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
command -v sox >/dev/null || need+=(sox)
command -v ip >/dev/null || need+=(iproute2)  # network namespaces (tests/faults/netns.py)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]}" >&2
  as_root apt-get update -q >/dev/null || echo "apt-get update failed" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-upgrade "${need[@]}" >/dev/null \
    || echo "could not install ${need[*]}; tests that need them will skip (or fail under CI=true)" >&2
fi

# 2. PostgreSQL: a throwaway cluster of our own (fsync off: a test database is a copy of a
#    template, made and dropped per test, which a durable server makes 3-5 times slower; and no
#    other suite on the machine shares it). OUTDIAL_TEST_PG_URL, when set, wins; without root or
#    the server binaries, the one on 127.0.0.1:5432 is used when it answers.
PGPID_DIR=""
as_postgres() { (cd / && runuser -u postgres -- "$@"); }  # from a directory it may enter
cleanup() {
  if [ -n "$PGPID_DIR" ]; then
    as_postgres "$PGBIN/pg_ctl" -D "$PGPID_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PGPID_DIR"
  fi
}
trap cleanup EXIT
start_cluster() {
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [ -n "$PGBIN" ] && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1 || return 1
  PGPID_DIR=$(mktemp -d)
  chown postgres:postgres "$PGPID_DIR"
  as_postgres "$PGBIN/initdb" -D "$PGPID_DIR/data" -A trust -U postgres --no-sync >/dev/null
  # A port that another process holds makes the start fail: try the next one.
  for port in $(seq 55432 55482); do
    if as_postgres "$PGBIN/pg_ctl" -D "$PGPID_DIR/data" -l "$PGPID_DIR/log" -w -t 60 \
        -o "-p $port -k $PGPID_DIR -c listen_addresses=127.0.0.1 -c fsync=off \
            -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
        start >/dev/null 2>&1; then
      export OUTDIAL_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/postgres"
      echo "PostgreSQL for the tests: $OUTDIAL_TEST_PG_URL" >&2
      return 0
    fi
  done
  echo "could not start a PostgreSQL cluster: $(tail -3 "$PGPID_DIR/log" 2>/dev/null)" >&2
  return 1
}
if [ -z "${OUTDIAL_TEST_PG_URL:-}" ] && ! start_cluster; then
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 -U postgres; then
    export OUTDIAL_TEST_PG_URL="postgresql://postgres@127.0.0.1:5432/postgres"
  else
    echo "no PostgreSQL here: its tests will skip (and fail under CI=true)" >&2
  fi
fi

# 3. Python environment.
VENV=${OUTDIAL_VENV:-$ROOT/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install -q --disable-pip-version-check -e ".[test]"  # includes playwright
"$VENV/bin/python" -c "import outdial" # fails loudly if the install did not work

# 4. Lint and types.
"$VENV/bin/ruff" check src tests benchmarks
"$VENV/bin/ruff" format --check src tests benchmarks
"$VENV/bin/mypy" src/outdial

# 5. Tests, in two phases (docs/testing.md): first every test outside tests/faults that is not
#    marked `serial` on pytest-xdist workers (OUTDIAL_TEST_WORKERS, 2), then tests/faults and
#    the tests marked `serial` in one process. Both phases always run;
#    the script fails when either fails or collects no test (pytest's exit code 5). With
#    arguments: one pytest run with them.
#    Bytecode is written (some machines set PYTHONDONTWRITEBYTECODE): each of the suite's many
#    `outdial` child processes then loads src/ from .pyc instead of compiling it again (0.2-0.5 s
#    of CPU each, measured on the loaded 2-core machine), and pytest keeps its rewritten tests.
unset PYTHONDONTWRITEBYTECODE
run_pytest() {
  local rc=0
  "$VENV/bin/pytest" -q -p no:cacheprovider --durations=15 "$@" || rc=$?
  if [ $rc -eq 5 ]; then
    echo "no tests were collected: failing" >&2
    rc=1
  fi
  return $rc
}
rc=0
if [ $# -gt 0 ]; then
  run_pytest "$@" || rc=$?
else
  started=$SECONDS
  run_pytest --phase parallel -n "${OUTDIAL_TEST_WORKERS:-2}" || rc=$?
  echo "parallel phase: exit status $rc, $((SECONDS - started)) s" >&2
  started=$SECONDS
  serial_rc=0
  run_pytest --phase serial || serial_rc=$?
  echo "serial phase: exit status $serial_rc, $((SECONDS - started)) s" >&2
  [ $rc -ne 0 ] || rc=$serial_rc
fi
exit $rc
