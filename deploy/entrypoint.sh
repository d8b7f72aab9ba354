#!/bin/sh
# Container entrypoint. `web` (the default) migrates, then serves with gunicorn. A program
# on PATH (sh, python, fengchao, gunicorn…) runs as given; anything else is a `fengchao`
# subcommand: `worker`, `scheduler`, `doctor`, `rankings rebuild`, `outbox status`,
# `export-community CODE`… (they never migrate: only the web role does).
set -eu

role="${1:-web}"
case "$role" in
  web)
    if [ "$#" -gt 0 ]; then shift; fi   # dash cannot `shift` past the end, even with || true
    if [ "${FENGCHAO_MIGRATE_ON_START:-1}" = "1" ]; then
      # Several app containers may start at once; Alembic's own lock is the database's,
      # and a second upgrade to the same heads is a no-op.
      echo "fengchao: applying database migrations" >&2
      fengchao db upgrade heads
    fi
    exec gunicorn -c /etc/fengchao/gunicorn.conf.py "server:create_app()" "$@"
    ;;
  *)
    if command -v "$role" >/dev/null 2>&1; then
      exec "$@"
    fi
    exec fengchao "$@"
    ;;
esac
