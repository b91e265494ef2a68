#!/usr/bin/env bash
# `npm test`: installs what is missing (scripts/setup.sh), type-checks, checks format and lint, then runs every test with node's
# test runner. `npm test -- test/registry/foo.test.ts` runs only the files named.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.tools/bin:$PATH"
npx tsc -p tsconfig.json
# Format and lint (Biome, 120 columns): `npx biome check --write .` fixes what it can.
npx biome check .
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
