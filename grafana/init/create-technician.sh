#!/bin/sh
# Create (or repair) Grafana's read-only "technician" user and set the org's home
# dashboard. Idempotent: safe to run on every `docker compose up`.
#
#   - user missing          -> create it with the password from TECHNICIAN_PASSWORD_FILE
#   - user already present  -> reset its password from the file (so rotating the secret
#                              works) and make sure its role in the org is Viewer
#   - home dashboard        -> the org's preference, by dashboard uid (HOME_DASHBOARD_UID)
#
# Needs only POSIX sh and curl (runs in the curlimages/curl container). Environment:
#   GRAFANA_URL                  default http://grafana:3000
#   GRAFANA_ADMIN_USER           default admin
#   GRAFANA_ADMIN_PASSWORD_FILE  default /run/secrets/grafana_admin_password
#   TECHNICIAN_LOGIN             default technician
#   TECHNICIAN_PASSWORD_FILE     default /run/secrets/grafana_technician_password
#   GRAFANA_ORG_ID               default 1 (the main org)
#   HOME_DASHBOARD_UID           default octopoll-overview (empty: leave the home alone)
#   HOME_DASHBOARD_TRIES         default 30 (2 s apart) waiting for it to be provisioned
set -eu

GRAFANA_URL=${GRAFANA_URL:-http://grafana:3000}
ADMIN_USER=${GRAFANA_ADMIN_USER:-admin}
ADMIN_PASSWORD_FILE=${GRAFANA_ADMIN_PASSWORD_FILE:-/run/secrets/grafana_admin_password}
LOGIN=${TECHNICIAN_LOGIN:-technician}
PASSWORD_FILE=${TECHNICIAN_PASSWORD_FILE:-/run/secrets/grafana_technician_password}
ORG_ID=${GRAFANA_ORG_ID:-1}
HOME_UID=${HOME_DASHBOARD_UID-octopoll-overview}
HOME_TRIES=${HOME_DASHBOARD_TRIES:-30}

die() { echo "create-technician: $*" >&2; exit 1; }

[ -r "$ADMIN_PASSWORD_FILE" ] || die "cannot read admin password file $ADMIN_PASSWORD_FILE"
[ -r "$PASSWORD_FILE" ] || die "cannot read technician password file $PASSWORD_FILE"
# The admin password exactly as Grafana reads it: the image's run.sh sets
# GF_SECURITY_ADMIN_PASSWORD from the __FILE with "$(< file)", which drops trailing
# newlines only. A carriage return (Windows line endings) stays part of the password.
ADMIN_PASSWORD=$(cat "$ADMIN_PASSWORD_FILE")
CR=$(printf '\r')
case "$ADMIN_PASSWORD" in
  *"$CR"*) echo "create-technician: warning: $ADMIN_PASSWORD_FILE has a carriage return (Windows line endings); Grafana keeps it in the admin password, so the UI login needs it too. Fix: sed -i 's/\r\$//' the file, then reset the admin password." >&2 ;;
esac
# The technician password is set by this script, so it is what a person would type:
# trailing newlines and carriage returns (a file saved on Windows) are not part of it.
PASSWORD=$(sed -e "s/$CR\$//" "$PASSWORD_FILE")
[ -n "$PASSWORD" ] || die "technician password file $PASSWORD_FILE is empty"

# Escape a string for a JSON body or a quoted curl config value: backslash, double
# quote and carriage return (both formats read \r as one).
json_str() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$CR/\\\\r/g"; }

# api METHOD PATH [BODY]: the reply body goes to $RESP, the status to $HTTP_CODE (both
# in this shell, so never call api inside $(...)). The admin credentials go through a
# curl config file (-K) instead of --user so they do not show up in `ps`.
RESP_FILE=$(mktemp)
CURL_CFG=$(mktemp)
trap 'rm -f "$RESP_FILE" "$CURL_CFG"' EXIT
printf 'user = "%s:%s"\n' "$(json_str "$ADMIN_USER")" "$(json_str "$ADMIN_PASSWORD")" > "$CURL_CFG"
api() {
  if [ $# -ge 3 ]; then
    HTTP_CODE=$(curl -sS -K "$CURL_CFG" -o "$RESP_FILE" -w '%{http_code}' -X "$1" \
      -H 'Content-Type: application/json' --data "$3" "$GRAFANA_URL$2") || HTTP_CODE=000
  else
    HTTP_CODE=$(curl -sS -K "$CURL_CFG" -o "$RESP_FILE" -w '%{http_code}' -X "$1" \
      "$GRAFANA_URL$2") || HTTP_CODE=000
  fi
  RESP=$(cat "$RESP_FILE")
}

# Wait for Grafana (compose also waits for its healthcheck; this covers manual runs).
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$GRAFANA_URL/api/health")" = 200 ]; do
  i=$((i + 1)); [ "$i" -le 60 ] || die "Grafana at $GRAFANA_URL is not healthy"
  sleep 2
done

api GET "/api/users/lookup?loginOrEmail=$LOGIN"
case "$HTTP_CODE" in
  200)
    id=$(printf '%s' "$RESP" | sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p')
    [ -n "$id" ] || die "unexpected lookup reply: $RESP"
    echo "create-technician: user '$LOGIN' exists (id $id)"
    api PUT "/api/admin/users/$id/password" "{\"password\":\"$(json_str "$PASSWORD")\"}"
    [ "$HTTP_CODE" = 200 ] || die "could not set the password of '$LOGIN' (HTTP $HTTP_CODE)"
    ;;
  404)
    body="{\"name\":\"Technician\",\"login\":\"$(json_str "$LOGIN")\",\"email\":\"$(json_str "$LOGIN")@localhost\",\"password\":\"$(json_str "$PASSWORD")\",\"OrgId\":$ORG_ID}"
    api POST /api/admin/users "$body"
    [ "$HTTP_CODE" = 200 ] || die "could not create '$LOGIN' (HTTP $HTTP_CODE): $RESP"
    id=$(printf '%s' "$RESP" | sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p')
    [ -n "$id" ] || die "unexpected create reply: $RESP"
    echo "create-technician: created user '$LOGIN' (id $id)"
    ;;
  401|403) die "admin credentials refused by Grafana (HTTP $HTTP_CODE)" ;;
  *) die "user lookup failed (HTTP $HTTP_CODE): $RESP" ;;
esac

# Make sure the user is in the org (a user created elsewhere may not be), then Viewer.
api POST "/api/orgs/$ORG_ID/users" "{\"loginOrEmail\":\"$(json_str "$LOGIN")\",\"role\":\"Viewer\"}"
case "$HTTP_CODE" in 200|409) ;; *) die "could not add '$LOGIN' to org $ORG_ID (HTTP $HTTP_CODE)" ;; esac
api PATCH "/api/orgs/$ORG_ID/users/$id" '{"role":"Viewer"}'
[ "$HTTP_CODE" = 200 ] || die "could not set role Viewer for '$LOGIN' (HTTP $HTTP_CODE)"
echo "create-technician: '$LOGIN' is a Viewer of org $ORG_ID"

# Home dashboard by uid through the API (the file-path setting has a history of bugs).
# The dashboard is provisioned from files shortly after Grafana starts: wait for it.
if [ -n "$HOME_UID" ]; then
  i=0
  while :; do
    api GET "/api/dashboards/uid/$HOME_UID"
    [ "$HTTP_CODE" = 200 ] && break
    i=$((i + 1)); [ "$i" -lt "$HOME_TRIES" ] || die "dashboard uid '$HOME_UID' not found in Grafana (HTTP $HTTP_CODE); is it in grafana/dashboards/?"
    sleep 2
  done
  api PATCH "/api/org/preferences" "{\"homeDashboardUID\":\"$(json_str "$HOME_UID")\"}"
  [ "$HTTP_CODE" = 200 ] || die "could not set the home dashboard to '$HOME_UID' (HTTP $HTTP_CODE): $RESP"
  echo "create-technician: home dashboard of org $ORG_ID is '$HOME_UID'"
fi
