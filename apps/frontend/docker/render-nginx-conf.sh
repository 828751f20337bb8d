#!/bin/sh
# Renders nginx.conf.template into a config file, substituting only the
# variables the template documents. Used by the container entrypoint and by
# the end-to-end tests, so both run the same configuration.
#
#   render-nginx-conf.sh TEMPLATE OUTPUT
set -eu

if [ $# -ne 2 ]; then
  echo "usage: $0 TEMPLATE OUTPUT" >&2
  exit 2
fi
template=$1
out=$2

: "${BACKEND_URL:?BACKEND_URL must be set, e.g. http://backend:8080}"
: "${LISTEN_PORT:=8080}"
: "${NGINX_ROOT:=/usr/share/nginx/html}"
: "${NGINX_RUN_DIR:=/tmp/nginx}"
: "${NGINX_ERROR_LOG:=/dev/stderr}"
: "${NGINX_ACCESS_LOG:=/dev/stdout}"

# proxy_pass must get a bare origin so request paths pass through unchanged.
BACKEND_URL=${BACKEND_URL%/}
case $BACKEND_URL in
  http://*/* | https://*/*)
    echo "BACKEND_URL must not contain a path: $BACKEND_URL" >&2
    exit 1
    ;;
  http://?* | https://?*) ;;
  *)
    echo "BACKEND_URL must start with http:// or https://: $BACKEND_URL" >&2
    exit 1
    ;;
esac
case $LISTEN_PORT in
  *[!0-9.:\[\]a-fA-F]* | '')
    echo "LISTEN_PORT must be a port or addr:port: $LISTEN_PORT" >&2
    exit 1
    ;;
esac

export BACKEND_URL LISTEN_PORT NGINX_ROOT NGINX_RUN_DIR NGINX_ERROR_LOG NGINX_ACCESS_LOG
mkdir -p "$NGINX_RUN_DIR"
# shellcheck disable=SC2016 # the single quotes are envsubst's variable list
envsubst '${BACKEND_URL} ${LISTEN_PORT} ${NGINX_ROOT} ${NGINX_RUN_DIR} ${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG}' \
  <"$template" >"$out"
