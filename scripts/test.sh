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
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]}" >&2
  as_root apt-get update -q >/dev/null || echo "apt-get update failed" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-upgrade "${need[@]}" >/dev/null \
    || echo "could not install ${need[*]}; tests that need them will skip (or fail under CI=true)" >&2
fi

# 2. PostgreSQL: use the one on 127.0.0.1:5432, else start a throwaway cluster.
PGPID_DIR=""
cleanup() {
  if [ -n "$PGPID_DIR" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGPID_DIR" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PGPID_DIR"
  fi
}
trap cleanup EXIT
if [ -z "${OUTDIAL_TEST_PG_URL:-}" ]; then
  if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432 -U postgres; then
    export OUTDIAL_TEST_PG_URL="postgresql://postgres@127.0.0.1:5432/postgres"
  else
    PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -n "$PGBIN" ] && [ "$(id -u)" = 0 ]; then
      PGPID_DIR=$(mktemp -d)
      chown postgres:postgres "$PGPID_DIR"
      runuser -u postgres -- "$PGBIN/initdb" -D "$PGPID_DIR" -A trust -U postgres --no-sync >/dev/null
      runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGPID_DIR" -l "$PGPID_DIR/log" -w \
        -o "-p 55432 -k $PGPID_DIR -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
      export OUTDIAL_TEST_PG_URL="postgresql://postgres@127.0.0.1:55432/postgres"
    else
      echo "no PostgreSQL here: its tests will skip (and fail under CI=true)" >&2
    fi
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

# 5. Tests. pytest's exit code 5 (no tests collected) is a failure here.
set +e
"$VENV/bin/pytest" -q -p no:cacheprovider "$@"
rc=$?
set -e
if [ $rc -eq 5 ]; then
  echo "no tests were collected: failing" >&2
  exit 1
fi
exit $rc
