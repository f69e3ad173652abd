#!/usr/bin/env bash
# Deploys the Dromedar gateway to Marathon: creates or updates the app of gateway.json
# (PUT /v2/apps/<id> creates it when missing) and waits until its deployment is done.
# The gateway then creates and scales the Drillbits app itself (scheduler.kind=marathon).
#
#   MARATHON_URL=http://marathon.mesos:8080 marathon/launch.sh [options]
#
# Options:
#   --image IMAGE       the gateway's Docker image (default: gateway.json's, or $DROMEDAR_IMAGE)
#   --config-uri URI    a Dromedar config file for the gateway, fetched into its sandbox
#   --config-file FILE  a Dromedar config file put inline into the app (DROMEDAR_CONFIG_JSON);
#                       the default, without --config-uri: marathon/drillbits.config.json
#   --secrets-uri URI   a file of gateway tokens (one line, comma-separated) fetched into the
#                       sandbox and read through DROMEDAR_TOKENS_FILE
#   --print             print the app definition and exit (nothing is sent)
#   --force             override a deployment that holds the app (?force=true)
#   --timeout SECONDS   how long to wait for the deployment (default 600)
#
# Talking to Marathon: MARATHON_USER + MARATHON_PASSWORD (basic auth) or MARATHON_TOKEN
# (DC/OS: Authorization: token=...); they go to curl through a pipe, never its arguments.
# Passed on to the gateway as its environment: every DROMEDAR_* variable of this shell
# but secrets, and MARATHON_URL, MARATHON_USER, MARATHON_ZK_CONNECT, MARATHON_DRILLBITS_APP,
# MARATHON_DRILL_HOME, MARATHON_CA_FILE. Secrets are never written into the app in clear
# (whoever reads apps would read them): name them in the DC/OS secret store with
# MARATHON_PASSWORD_SECRET, MARATHON_TOKEN_SECRET or DROMEDAR_TOKENS_SECRET (the gateway
# gets MARATHON_PASSWORD, MARATHON_TOKEN, DROMEDAR_TOKENS), or fetch a file (--secrets-uri).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
image="${DROMEDAR_IMAGE:-}"
config_uri=""
config_file=""
secrets_uri=""
print=false
force=false
timeout=600

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die() { echo "launch.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --image) image="${2:?--image needs a value}"; shift ;;
    --config-uri) config_uri="${2:?--config-uri needs a value}"; shift ;;
    --config-file) config_file="${2:?--config-file needs a value}"; shift ;;
    --secrets-uri) secrets_uri="${2:?--secrets-uri needs a value}"; shift ;;
    --print) print=true ;;
    --force) force=true ;;
    --timeout) timeout="${2:?--timeout needs a value}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done

command -v jq >/dev/null || die "jq is needed"
if [ -z "$config_uri" ] && [ -z "$config_file" ]; then config_file="$here/drillbits.config.json"; fi
config_json=""
if [ -n "$config_file" ]; then
  config_json="$(jq -c . "$config_file")" || die "$config_file is not valid JSON"
fi

# curl's options for Marathon's credentials, read by curl from a pipe (-K -).
credentials() {
  local quote='s/\\/\\\\/g; s/"/\\"/g'
  if [ -n "${MARATHON_TOKEN:-}" ]; then
    printf 'header = "Authorization: token=%s"\n' "$(printf '%s' "$MARATHON_TOKEN" | sed "$quote")"
  elif [ -n "${MARATHON_USER:-}" ]; then
    printf 'user = "%s:%s"\n' "$(printf '%s' "$MARATHON_USER" | sed "$quote")" "$(printf '%s' "${MARATHON_PASSWORD:-}" | sed "$quote")"
  fi
}

# call METHOD PATH [BODY]: sets $status and $body.
call() {
  local out
  out="$(credentials | curl -sS -K - -X "$1" -H 'Accept: application/json' \
    ${3:+-H 'Content-Type: application/json' --data-binary "$3"} \
    -w '\n%{http_code}' "$marathon$2")" || die "cannot reach Marathon at $marathon"
  status="${out##*$'\n'}"
  body="${out%$'\n'*}"
}

explain() {
  local message details
  message="$(jq -r '.message // empty' <<<"$body" 2>/dev/null || true)"
  details="$(jq -r '(.details // [])[] | "  \(.path): \((.errors // []) | join(", "))"' <<<"$body" 2>/dev/null || true)"
  echo "Marathon answered $status to $1: ${message:-$body}${details:+$'\n'$details}" >&2
}

# The environment the gateway gets: this shell's settings, secrets by reference only.
env_json="$(jq -n 'env | with_entries(select(.key | test("^(DROMEDAR_[A-Z0-9_]+|MARATHON_(URL|USER|ZK_CONNECT|DRILLBITS_APP|DRILL_HOME|CA_FILE))$")) | select(.key | test("(TOKENS|PASSWORD|TOKEN|SECRET)$") | not)) | del(.DROMEDAR_IMAGE)')"
app="$(jq \
  --argjson env "$env_json" \
  --arg image "$image" \
  --arg config "$config_uri" \
  --arg password_secret "${MARATHON_PASSWORD_SECRET:-}" \
  --arg token_secret "${MARATHON_TOKEN_SECRET:-}" \
  --arg tokens_secret "${DROMEDAR_TOKENS_SECRET:-}" \
  --arg config_json "$config_json" \
  --arg secrets "$secrets_uri" '
  .env += $env
  | if $config_json != "" then .env.DROMEDAR_CONFIG_JSON = $config_json else . end
  | if $secrets != "" then
      .fetch = ((.fetch // []) + [{ uri: $secrets, extract: false }])
      | .env.DROMEDAR_TOKENS_FILE = "/mnt/mesos/sandbox/\($secrets | split("/") | last | split("?") | first)"
    else . end
  | if $tokens_secret != "" then .secrets.dromedarTokens = { source: $tokens_secret } | .env.DROMEDAR_TOKENS = { secret: "dromedarTokens" } else . end
  | if $image != "" then .container.docker.image = $image else . end
  | if $config != "" then
      .fetch = ((.fetch // []) + [{ uri: $config, extract: false }])
      | .env.DROMEDAR_CONFIG = "/mnt/mesos/sandbox/\($config | split("/") | last | split("?") | first)"
      | .labels["dromedar.config-uri"] = $config
    else . end
  | if $password_secret != "" then .secrets.marathonPassword = { source: $password_secret } | .env.MARATHON_PASSWORD = { secret: "marathonPassword" } else . end
  | if $token_secret != "" then .secrets.marathonToken = { source: $token_secret } | .env.MARATHON_TOKEN = { secret: "marathonToken" } else . end
  | .labels["dromedar.image"] = .container.docker.image
  ' "$here/gateway.json")"
id="$(jq -r .id <<<"$app")"
if $print; then printf '%s\n' "$app"; exit 0; fi
: "${MARATHON_URL:?set MARATHON_URL, e.g. http://marathon.mesos:8080}"
command -v curl >/dev/null || die "curl is needed"
marathon="${MARATHON_URL%/}"
if [ -n "${DROMEDAR_TOKENS:-}" ] && [ -z "${DROMEDAR_TOKENS_SECRET:-}$secrets_uri" ]; then
  echo "launch.sh: note: DROMEDAR_TOKENS is not passed on in clear; set DROMEDAR_TOKENS_SECRET or --secrets-uri" >&2
fi
if [ -z "${MARATHON_PASSWORD_SECRET:-}${MARATHON_TOKEN_SECRET:-}" ] && [ -n "${MARATHON_PASSWORD:-}${MARATHON_TOKEN:-}" ]; then
  echo "launch.sh: note: the gateway gets no Marathon password or token (set MARATHON_PASSWORD_SECRET or MARATHON_TOKEN_SECRET)" >&2
fi

deadline=$(( $(date +%s) + timeout ))
while :; do
  call PUT "/v2/apps${id}?force=${force}" "$app"
  case "$status" in
    200|201) break ;;
    409)
      locks="$(jq -r '(.deployments // [])[].id' <<<"$body" 2>/dev/null | paste -sd, -)"
      [ -n "$locks" ] || { explain "PUT /v2/apps${id}"; exit 1; }
      [ "$(date +%s)" -lt "$deadline" ] || die "app $id is still locked by deployment $locks; retry with --force to override it"
      echo "app $id is locked by deployment $locks; waiting for it" >&2
      sleep 5 ;;
    401) explain "PUT /v2/apps${id}"; die "set MARATHON_USER/MARATHON_PASSWORD or MARATHON_TOKEN" ;;
    *) explain "PUT /v2/apps${id}"; exit 1 ;;
  esac
done
deployment="$(jq -r '.deploymentId' <<<"$body")"
echo "deploying $id (deployment $deployment)"

while :; do
  call GET /v2/deployments
  [ "$status" = 200 ] || { explain "GET /v2/deployments"; exit 1; }
  jq -e --arg d "$deployment" 'any(.[]; .id == $d)' <<<"$body" >/dev/null || break
  if [ "$(date +%s)" -ge "$deadline" ]; then
    call GET "/v2/apps${id}?embed=app.lastTaskFailure"
    failure="$(jq -r '.app.lastTaskFailure | select(.) | "\(.state) \(.message)"' <<<"$body" 2>/dev/null || true)"
    die "deployment $deployment of $id did not finish in ${timeout}s${failure:+ (last task failure: $failure)}"
  fi
  sleep 3
done

call GET "/v2/apps${id}?embed=app.tasks"
endpoint="$(jq -r '.app.tasks[0] | select(.) | "http://\(.host):\(.ports[0])"' <<<"$body" 2>/dev/null || true)"
echo "$id is running${endpoint:+ at $endpoint}"
