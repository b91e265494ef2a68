#!/usr/bin/env bash
# `npm run demo`: installs the npm dependencies when they are missing (a fresh clone), then runs the main
# job on the embedded default (cli/demo.ts). Nothing else is needed: no database, registry or engine.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[demo] npm ci (first run)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
exec node --import tsx cli/demo.ts "$@"
