#!/bin/sh
# Installs the pinned npm packages of tests/stack_schema (package-lock.json) into DEST
# (default: target/stack-schema), once: nothing is done while DEST holds the same lock.
# Used by .ci/run and by tests/stack_schema.rs; needs node and npm.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-"$here/../../target/stack-schema"}
mkdir -p "$dest"
# The stamp is written only after a complete install, so a broken one is redone.
if cmp -s "$here/package-lock.json" "$dest/.installed-lock.json" && [ -d "$dest/node_modules" ]; then
  exit 0
fi
rm -f "$dest/.installed-lock.json"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
cp "$here/package-lock.json" "$dest/.installed-lock.json"
