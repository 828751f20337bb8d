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
: "${ADMIN_LISTEN_PORT:=8081}"
: "${NGINX_ROOT:=/usr/share/nginx/html}"
: "${NGINX_RUN_DIR:=/tmp/nginx}"
: "${NGINX_ERROR_LOG:=/dev/stderr}"
: "${NGINX_ACCESS_LOG:=/dev/stdout}"
: "${CLIENT_HEADER_TIMEOUT:=10s}"
: "${CLIENT_BODY_TIMEOUT:=10s}"
: "${CONN_LIMIT_PER_CLIENT:=32}"
: "${REAL_IP_FROM:=}"

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
check_port() { # NAME VALUE
  case $2 in
    *[!0-9.:\[\]a-fA-F]* | '')
      echo "$1 must be a port or addr:port: $2" >&2
      exit 1
      ;;
  esac
}
check_port LISTEN_PORT "$LISTEN_PORT"
check_port ADMIN_LISTEN_PORT "$ADMIN_LISTEN_PORT"
# The admin listener is told apart by its port number.
ADMIN_PORT=${ADMIN_LISTEN_PORT##*:}
case $ADMIN_PORT in
  '' | *[!0-9]*)
    echo "ADMIN_LISTEN_PORT must end in a port number: $ADMIN_LISTEN_PORT" >&2
    exit 1
    ;;
esac
if [ "${LISTEN_PORT##*:}" = "$ADMIN_PORT" ]; then
  echo "LISTEN_PORT and ADMIN_LISTEN_PORT must use different ports: $LISTEN_PORT, $ADMIN_LISTEN_PORT" >&2
  exit 1
fi
check_duration() { # NAME VALUE
  if ! printf '%s' "$2" | grep -Eq '^[1-9][0-9]*(ms|s|m)?$'; then
    echo "$1 must be a duration such as 10s or 500ms: $2" >&2
    exit 1
  fi
}
check_duration CLIENT_HEADER_TIMEOUT "$CLIENT_HEADER_TIMEOUT"
check_duration CLIENT_BODY_TIMEOUT "$CLIENT_BODY_TIMEOUT"
case $CONN_LIMIT_PER_CLIENT in
  '' | 0 | *[!0-9]*)
    echo "CONN_LIMIT_PER_CLIENT must be a positive number: $CONN_LIMIT_PER_CLIENT" >&2
    exit 1
    ;;
esac
# REAL_IP_FROM: comma-separated addresses or CIDRs of the proxies (the
# ingress controller's pods) allowed to name the client in X-Forwarded-For.
NGINX_REAL_IP=
if [ -n "$REAL_IP_FROM" ]; then
  for cidr in $(printf '%s' "$REAL_IP_FROM" | tr ',' ' '); do
    case $cidr in
      *[!0-9a-fA-F.:/]* | '')
        echo "REAL_IP_FROM must list addresses or CIDRs: $cidr" >&2
        exit 1
        ;;
    esac
    NGINX_REAL_IP="$NGINX_REAL_IP    set_real_ip_from $cidr;
"
  done
  NGINX_REAL_IP="${NGINX_REAL_IP}    real_ip_header X-Forwarded-For;
    real_ip_recursive on;"
fi

export BACKEND_URL LISTEN_PORT ADMIN_LISTEN_PORT ADMIN_PORT NGINX_ROOT NGINX_RUN_DIR NGINX_ERROR_LOG \
  NGINX_ACCESS_LOG CLIENT_HEADER_TIMEOUT CLIENT_BODY_TIMEOUT CONN_LIMIT_PER_CLIENT NGINX_REAL_IP
mkdir -p "$NGINX_RUN_DIR"
# shellcheck disable=SC2016 # the single quotes are envsubst's variable list
envsubst '${BACKEND_URL} ${LISTEN_PORT} ${ADMIN_LISTEN_PORT} ${ADMIN_PORT} ${NGINX_ROOT} ${NGINX_RUN_DIR} ${NGINX_ERROR_LOG} ${NGINX_ACCESS_LOG} ${CLIENT_HEADER_TIMEOUT} ${CLIENT_BODY_TIMEOUT} ${CONN_LIMIT_PER_CLIENT} ${NGINX_REAL_IP}' \
  <"$template" >"$out"
