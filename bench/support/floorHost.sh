#!/bin/sh
# The fail_closed platform floor (bench/support/platformFloorServer.ts: the local Functions host, an awaited
# admission publish, the upstream call, an awaited outcome publish, and none of Palisade's checks) as the
# side-by-side harness's --ext-cmd, joining the stack `npm start` started (.palisade/local.env), after
# `npm run build`. PALISADE_FLOOR_PARTS=host,upstream leaves the publishes out. docs/benchmarks.md,
# "2026-12-07, 16:38-17:18 UTC", has the harness command.
set -e
cd "${PALISADE_ROOT:?}"
set -a; . ./.palisade/local.env; set +a
unset OPENAI_BASE_URL OPENAI_API_KEY
export PALISADE_FLOOR_PORT="$PORT" PALISADE_FLOOR_UPSTREAM_URL=http://127.0.0.1:18080 PALISADE_FLOOR_DEPLOYMENT=gpt-4o-mini
export PALISADE_FLOOR_PARTS="${PALISADE_FLOOR_PARTS:-host,admission,upstream,servicebus}"
exec node --heap-growing-percent=50 dist/bench/support/platformFloorServer.js
