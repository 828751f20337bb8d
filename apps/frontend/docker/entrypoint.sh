#!/bin/sh
# Container entrypoint: render the nginx config from the environment, check
# it, then replace this shell with nginx in the foreground (PID 1 receives
# the stop signal directly).
set -eu

: "${NGINX_RUN_DIR:=/tmp/nginx}"
: "${NGINX_ERROR_LOG:=/dev/stderr}"
export NGINX_RUN_DIR NGINX_ERROR_LOG

conf="$NGINX_RUN_DIR/nginx.conf"
/usr/local/bin/render-nginx-conf /etc/nginx/platform/nginx.conf.template "$conf"
nginx -t -q -e "$NGINX_ERROR_LOG" -c "$conf"
exec nginx -e "$NGINX_ERROR_LOG" -c "$conf" -g 'daemon off;'
