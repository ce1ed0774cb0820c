#!/usr/bin/env bash
# Entry point.  ./run.sh certify [--profile P] [--scenario S] [--seed N]   (the main job)
#               ./run.sh test [pytest args]                                (the test suite)
#               ./run.sh <any chaos command>                               (analyze, report, compare, list, clean)
set -euo pipefail
cd "$(dirname "$0")"
./scripts/setup.sh
export TESTCONTAINERS_RYUK_DISABLED=true
cmd="${1:-certify}"
[ $# -gt 0 ] && shift
case "$cmd" in
  test) exec python3 -m pytest tests -n "${CHAOS_TEST_WORKERS:-2}" --dist loadscope --no-loadscope-reorder "$@" ;;
  *) exec python3 -m kfchaos.cli "$cmd" "$@" ;;
esac
