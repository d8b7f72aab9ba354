#!/bin/sh
# Container entrypoint. `web` (the default) migrates (unless FENGCHAO_MIGRATE_ON_START=0,
# as docker-compose.yml sets it), then serves with gunicorn. A program
# on PATH (sh, python, fengchao, gunicorn…) runs as given; anything else is a `fengchao`
# subcommand: `worker`, `scheduler`, `doctor`, `rankings rebuild`, `outbox status`,
# `export-community CODE`… (they never migrate: only the web role does).
set -eu

role="${1:-web}"
case "$role" in
  web)
    if [ "$#" -gt 0 ]; then shift; fi   # dash cannot `shift` past the end, even with || true
    if [ "${FENGCHAO_MIGRATE_ON_START:-1}" = "1" ]; then
      # Only where one web container starts at a time: nothing locks a migration
      # (server/migrations/env.py takes no lock), so two containers upgrading at once race
      # on the same DDL. deploy/docker-compose.yml migrates once, in its one-shot `migrate`
      # service that every `app` container waits for, and sets FENGCHAO_MIGRATE_ON_START=0
      # on `app` (so --scale app=N is safe); an upgrade already at the heads is a no-op.
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
