#!/usr/bin/env bash
# `npm test`: every test of the project, from a fresh clone after `npm install`.
# Runs each suite even when an earlier one fails, then prints one summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
results=test-results
rm -rf "$results" && mkdir -p "$results"
failed_steps=()

step() { # step NAME COMMAND...
  local name=$1; shift
  printf '\n\033[1m== %s ==\033[0m\n' "$name"
  local t0=$SECONDS
  if "$@"; then echo "-- $name: ok ($((SECONDS - t0)) s)"; else echo "-- $name: FAILED ($((SECONDS - t0)) s)"; failed_steps+=("$name"); fi
}

bash scripts/ensure-system-packages.sh || exit 1
step "generate Prisma clients" npx tsx scripts/db.ts generate
step "typecheck" npx tsc --noEmit -p .
step "unit tests" npx vitest run --project unit --reporter=default --reporter=json --outputFile.json="$results/unit.json"
step "KMIP interop tests (PyKMIP)" npx vitest run --project integration --reporter=default --reporter=json --outputFile.json="$results/integration.json"
step "data layer on SQLite" env -u DATABASE_URL npx vitest run --project db --reporter=default --reporter=json --outputFile.json="$results/db-sqlite.json"
pg_url=${STRONGROOM_TEST_PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
if node -e "const c=new (require('pg').Client)({connectionString:process.argv[1]});c.connect().then(()=>c.end(),()=>process.exit(1))" "$pg_url"; then
  step "data layer on PostgreSQL" env DATABASE_URL="$pg_url" npx vitest run --project db --reporter=default --reporter=json --outputFile.json="$results/db-postgresql.json"
else
  echo "PostgreSQL is not reachable at $pg_url. Start it (e.g. pg_ctlcluster 15 main start) or set STRONGROOM_TEST_PG_URL." >&2
  failed_steps+=("data layer on PostgreSQL (server unreachable)")
fi
step "end-to-end (Playwright, Chromium)" env PLAYWRIGHT_JSON_OUTPUT_NAME="$results/e2e.json" npx playwright test --reporter=list,json

node scripts/test-summary.mjs "$results" "${failed_steps[@]}"
