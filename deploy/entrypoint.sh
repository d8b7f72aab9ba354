#!/bin/sh
# Container entrypoint: `web` migrates then serves; `worker`, `scheduler` and any other
# `fengchao` subcommand run as given (they never migrate: only the web role does).
set -eu

role="${1:-web}"
case "$role" in
  web)
    shift || true
    if [ "${FENGCHAO_MIGRATE_ON_START:-1}" = "1" ]; then
      # Several app containers may start at once; Alembic's own lock is the database's,
      # and a second upgrade to the same heads is a no-op.
      echo "fengchao: applying database migrations" >&2
      fengchao db upgrade heads
    fi
    exec gunicorn -c /etc/fengchao/gunicorn.conf.py "server:create_app()" "$@"
    ;;
  worker|scheduler|doctor|db|seed-demo|invite-staff|points|shell)
    exec fengchao "$@"
    ;;
  *)
    exec "$@"
    ;;
esac
