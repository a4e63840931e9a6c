#!/usr/bin/env bash
# The story a new user sees first (`make demo`); runs entirely against the embedded sandbox.
#
#   1. a fresh sandbox world (the default seed: accounts, snapshots, no galleries yet)
#   2. validate the minimal example spec, plan it, apply it, plan again: nothing to do
#   3. a new image build: the spec now ships version 1.1.0 instead of 1.0.0 and the pool
#      grows 2 → 700 nodes (so the version needs 2 replicas); plan, see apply refuse the
#      disruptive part, apply with approval: new version first, pool moved, old version last
#   4. someone edits the pool behind the tool's back (through the Azure SDK); drift sees it
#   5. the legacy managed-image pool the world also holds (200 nodes) moves to a gallery
#      image (R7): migrate rewrites the spec, apply publishes the version and moves the pool
#
# Everything lives in a temporary directory that is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
RECONCILE="$BIN/reconcile"

DEMO=$(mktemp -d "${TMPDIR:-/tmp}/reconcile-demo.XXXXXX")
trap 'rm -rf "$DEMO"' EXIT
WORLD="$DEMO/world.sqlite"
SPEC="$DEMO/spec"
export RECONCILE_SANDBOX="$WORLD"   # every command below talks to this sandbox

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then BOLD=$'\033[1m'; PLAIN=$'\033[0m'; else BOLD=; PLAIN=; fi
section() {
  printf '\n%s==> %s%s\n\n' "$BOLD" "$*" "$PLAIN"
}
# apply prints the plan it is about to carry out; the demo showed that plan in the step
# before, so only apply's own progress (from "applying N change(s)") is shown here.
progress_only() {
  sed -n '/^[0-9TZ:-]*  applying /,$p'
}
# A re-plan that should find nothing: its verdict and summary line are the story.
verdict_only() {
  grep -E '^(No changes|Plan:)'
}

section "1. A fresh sandbox world (simulated time runs 2000x faster than real time)"
"$RECONCILE" sandbox init --sandbox "$WORLD" --speed 2000

section "2a. Validate the minimal example spec (computed sizing shown)"
cp -r specs/minimal "$SPEC"
"$RECONCILE" validate "$SPEC"

section "2b. Plan: what would change"
"$RECONCILE" plan "$SPEC"

section "2c. Apply (--auto-approve, as CI does on merge): the plan above, carried out"
"$RECONCILE" apply "$SPEC" --auto-approve | progress_only

section "2d. Plan again: live state now matches the spec"
"$RECONCILE" plan "$SPEC" | verdict_only

section "3a. A new image build: version 1.1.0 replaces 1.0.0, the pool grows 2 -> 700 nodes"
sed -i.bak \
  -e 's/- name: 1\.0\.0/- name: 1.1.0/' \
  -e 's/fixed: {dedicated: 2}/fixed: {dedicated: 700}/' \
  "$SPEC/spec.yaml"
rm -f "$SPEC/spec.yaml.bak"
diff -u specs/minimal/spec.yaml "$SPEC/spec.yaml" || true

section "3b. Plan with --prune: create 1.1.0 (2 replicas), move the pool, then delete 1.0.0"
"$RECONCILE" plan "$SPEC" --prune

section "3c. Apply without approval for disruption: refused, nothing touched"
if "$RECONCILE" apply "$SPEC" --prune --auto-approve >/dev/null; then
  echo "unexpected: the disruptive change was applied without --allow-disruptive" >&2
  exit 1
fi

section "3d. Apply with --allow-disruptive: the plan from 3b, carried out"
"$RECONCILE" apply "$SPEC" --prune --allow-disruptive --auto-approve | progress_only

section "3e. Plan again: converged"
"$RECONCILE" plan "$SPEC" --prune | verdict_only

section "4a. Someone edits the pool in the portal (here: through the Azure SDK)"
"$BIN/python" - "$WORLD" <<'PY'
import sys

from reconciler.apply.ports import Operations
from reconciler.azure import AzureOperations, Target
from reconciler.state.model import Kind
from reconciler.wiring import azure_clients

pool = (
    "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-batch/providers/"
    "Microsoft.Batch/batchAccounts/batchprodweu/pools/minimal"
)
with azure_clients(Target.for_sandbox(sys.argv[1])) as clients:
    ops: Operations = AzureOperations(clients)
    live = ops.read(kind=Kind.POOL, resource_id=pool)
    assert live is not None
    props = {**live.properties, "metadata.team": "someone-else", "scale.fixed.dedicated": 650}
    ops.update(
        kind=Kind.POOL,
        resource_id=pool,
        location=live.location,
        props=props,
        changed_paths=("metadata.team", "scale.fixed.dedicated"),
    )
    print("pool minimal: metadata.team=someone-else, dedicated nodes 700 -> 650")
PY

section "4b. reconcile drift: what differs from the spec"
status=0
"$RECONCILE" drift "$SPEC" || status=$?
echo
echo "(drift exit status $status: 0 = none, 2 = drift found, 1 = error)"
[ "$status" -ne 1 ]

section "5a. Migrate the legacy managed-image pool to a gallery image (R7): the spec diff"
LEGACY="$DEMO/legacy"
cp -r specs/legacy "$LEGACY"
"$RECONCILE" migrate "$LEGACY" --gallery legacygallery --write
diff -u specs/legacy/spec.yaml "$LEGACY/spec.yaml" || true

section "5b. Apply it: gallery, definition, version, then the pool scaled 200 -> 0, moved, scaled back"
"$RECONCILE" apply "$LEGACY" --allow-disruptive --auto-approve | progress_only

section "5c. Plan again: converged; the managed image stays until you prune it (RC708)"
"$RECONCILE" plan "$LEGACY" | grep -E '^(No changes|Plan:)|RC708'

section "Done: the demo world in $DEMO is removed on exit"
