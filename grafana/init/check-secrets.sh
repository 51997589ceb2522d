#!/bin/sh
# Refuse to start Grafana with missing, empty or example passwords. Runs as the one-shot
# `secrets-check` service that `grafana` waits for (docker-compose.yml), and by hand:
#   sh grafana/init/check-secrets.sh secrets/grafana_admin_password secrets/grafana_technician_password
# Each argument is a password file; exits 1 naming every bad one and how to fix it.
set -u
bad=0
for f in "$@"; do
  if [ ! -r "$f" ]; then
    echo "check-secrets: $f is missing or unreadable: create it, e.g. openssl rand -base64 18 > secrets/$(basename "$f") (and chmod 0644 it)" >&2
    bad=1
    continue
  fi
  value=$(cat "$f")
  case "$value" in
    "")
      echo "check-secrets: $f is empty: put a password in it (openssl rand -base64 18 > secrets/$(basename "$f"))" >&2
      bad=1 ;;
    change-me*)
      echo "check-secrets: $f still holds the example password ($value): replace it (openssl rand -base64 18 > secrets/$(basename "$f"))" >&2
      bad=1 ;;
  esac
  if [ "${#value}" -lt 8 ] && [ -n "$value" ]; then
    echo "check-secrets: $f holds a password shorter than 8 characters" >&2
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "check-secrets: $# password file(s) fine"
exit "$bad"
