#!/bin/sh
# The gateway image's entry point: it runs `dromedar up` with the Marathon scheduler, and
# says in one line what is missing instead of starting half-configured.
set -eu
if [ -z "${DROMEDAR_CONFIG:-}${DROMEDAR_CONFIG_JSON:-}" ]; then
  missing=""
  [ -n "${MARATHON_URL:-}" ] || missing="$missing MARATHON_URL"
  [ -n "${MARATHON_ZK_CONNECT:-}" ] || missing="$missing MARATHON_ZK_CONNECT"
  if [ -n "$missing" ]; then
    echo "dromedar image: set${missing} (the Marathon that runs the Drillbits and their ZooKeeper), or a whole config in DROMEDAR_CONFIG_JSON or DROMEDAR_CONFIG; Drill runs on the agents (scheduler.marathon.drillHome or fetch), not in this image; see marathon/README.md" >&2
    exit 2
  fi
fi
if [ "${DROMEDAR_SCHEDULER:-marathon}" != marathon ]; then
  echo "dromedar image: DROMEDAR_SCHEDULER=${DROMEDAR_SCHEDULER} needs Drill and a JDK in the image; this one has neither (use marathon)" >&2
  exit 2
fi
exec node "${DROMEDAR_APP_DIR:-/app}/dist/src/cli/main.js" up "$@"
