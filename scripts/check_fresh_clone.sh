#!/usr/bin/env bash
# Clone the repository into an empty folder with nothing beside it and run the README's test
# command there. It must pass with exactly two tests skipped: the replay of Microsoft's
# examples and the freshness check of reconciler/openapi/specs/, both of which need
# Microsoft's original files. Anything else skipped means the clone is not self-contained.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git clone --quiet --no-hardlinks "$PWD" "$work/reconcile"
cd "$work/reconcile"
env -u RECONCILE_AZURE_SPECS make test 2>&1 | tee "$work/test.log"
summary="$(grep -E '^[0-9]+ passed' "$work/test.log" | tail -n 1)"
echo "fresh clone: $summary"
case "$summary" in
  *failed* | *error*) echo "fresh clone: tests failed" >&2; exit 1 ;;
  *", 2 skipped"*) ;;
  *) echo "fresh clone: expected exactly 2 skipped tests" >&2; exit 1 ;;
esac
skipped="$(grep -c '^SKIPPED' "$work/test.log" || true)"
if [ "$skipped" != 2 ] \
  || ! grep -q '^SKIPPED .*test_examples.py' "$work/test.log" \
  || ! grep -q '^SKIPPED .*test_openapi_artifact.py' "$work/test.log"; then
  echo "fresh clone: the skipped tests are not the two that need Microsoft's files" >&2
  exit 1
fi
