#!/bin/sh
# The container's entrypoint (deploy/Dockerfile), usable outside one too: applies the
# database migrations, then runs the process its first argument names.
#
#   entrypoint.sh web [gunicorn options]       the web (gunicorn gateway.wsgi)
#   entrypoint.sh runner [runsessions options] the session runner
#   entrypoint.sh webhooks [options]           a webhook delivery worker
#   entrypoint.sh manage <command> [...]       any manage.py command (createorganization, …)
#
# GATEWAY_APP_DIR is where manage.py is (/app in the image), PYTHON the interpreter (the
# image's virtual environment is on PATH); GATEWAY_MIGRATE=0 skips the
# migrations (processes started after the web has migrated need not wait on the lock).
set -eu

role="${1:-web}"
[ "$#" -gt 0 ] && shift
cd "${GATEWAY_APP_DIR:-/app}"
python="${PYTHON:-python}"

case "$role" in
  web | runner | webhooks | manage) ;;
  *)
    echo "entrypoint: unknown process '$role' (web, runner, webhooks, manage)" >&2
    exit 64
    ;;
esac

if [ "${GATEWAY_MIGRATE:-1}" != "0" ] && [ "$role" != "manage" ]; then
  "$python" manage.py migrate --noinput
fi

case "$role" in
  web) exec "$python" -m gunicorn gateway.wsgi "$@" ;;
  runner) exec "$python" manage.py runsessions "$@" ;;
  webhooks) exec "$python" manage.py deliverwebhooks "$@" ;;
  manage) exec "$python" manage.py "$@" ;;
esac
