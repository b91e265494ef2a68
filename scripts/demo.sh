#!/usr/bin/env bash
# `npm run demo`: installs the npm dependencies when they are missing (a fresh clone), then runs the main
# job on the embedded default (cli/demo.ts). Nothing else is needed: no database, registry or engine.
set -euo pipefail
cd "$(dirname "$0")/.."
# node_modules is current when it was installed from this exact package-lock.json (a stamp, not mtimes:
# a fresh clone's files are all new).
lock_sha=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.aibomgen-lock 2>/dev/null)" != "$lock_sha" ]; then
  echo "[demo] npm ci (first run)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sha" > node_modules/.aibomgen-lock
fi
exec node --import tsx cli/demo.ts "$@"
