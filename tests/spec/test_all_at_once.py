"""One run reports every problem: structural errors do not hide references, rules or sizing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.spec import LoadResult, load_spec

from .world import TODAY, account, gallery, image, load, pool, snap, version, world, write

SNAP = snap("s")

# Broken resources come first in their lists, so positions of the valid siblings after
# them prove the raw indices are kept straight.
EVERYTHING_WRONG = f"""\
apiVersion: reconcile/v1
defaults:
  subscription: 00000000-0000-0000-0000-000000000001
  resourceGroup: rg-images
  location: westeurope
galleries:
  - name: g
    images:
      - name: win
        osType: Windows
        osStat: Generalized
        identifier: {{publisher: p, offer: o, sku: w}}
      - name: lin
        osType: Linux
        osState: Generalized
        identifier: {{publisher: p, offer: o, sku: s}}
        versions:
          - name: 1.0.0
            source: {{snapshots: {{osDisk: {SNAP}}}}}
            targetRegion: [{{name: westeurope}}]
batchAccounts:
  - name: acct
    resourceGroup: rg-batch
    pools:
      - name: slots
        vmSize: Standard_D2s_v5
        image: {{gallery: g, definition: lin}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        taskSlotsPerNode: four
        scale: {{fixed: {{dedicated: 10}}}}
      - name: missing
        vmSize: Standard_D2s_v5
        image: {{gallery: g, definition: lnx}}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale: {{fixed: {{dedicated: 10}}}}
      - name: agent
        vmSize: Standard_D2s_v5
        image: {{gallery: g, definition: lin}}
        nodeAgentSkuId: batch.node.windows amd64
        scale: {{fixed: {{dedicated: 10, resizeTimeout: PT5M}}}}
"""


def _where(result: LoadResult, tmp: Path) -> list[str]:
    return [
        f"{Path(d.file or '').relative_to(tmp)}:{d.line}:{d.col}: {d.code}"
        for d in result.diagnostics
    ]


def _unique(result: LoadResult) -> bool:
    return len(set(result.diagnostics)) == len(result.diagnostics)


def test_the_six_mistakes_are_reported_in_one_run(tmp_path: Path) -> None:
    """Typos, a wrong type, a dangling reference, R12 and R2 all show up together."""
    result = load_spec([write(tmp_path, EVERYTHING_WRONG)], today=TODAY)
    assert _where(result, tmp_path) == [
        "spec.yaml:11:9: RC003",  # osStat → osState
        "spec.yaml:20:13: RC003",  # targetRegion → targetRegions
        "spec.yaml:29:27: RC004",  # taskSlotsPerNode: four
        "spec.yaml:33:16: RC007",  # definition lnx does not exist
        "spec.yaml:39:25: RC206",  # Windows agent on the Linux definition
        "spec.yaml:40:55: RC103",  # PT5M < 15 minutes
    ]
    assert result.spec is None and not result.ok
    assert "did you mean 'lin'?" in result.diagnostics[3].hint


def test_a_pool_on_a_broken_definition_is_still_checked_on_its_own(tmp_path: Path) -> None:
    """No dangling error and no R12 for a broken definition, but the pool's own timeout is."""

    def mutate(d: dict[str, Any]) -> None:
        image(d)["osStat"] = image(d).pop("osState")
        pool(d)["nodeAgentSkuId"] = "batch.node.windows amd64"
        pool(d)["scale"]["fixed"]["resizeTimeout"] = "PT1M"

    result = load(tmp_path, world(mutate))
    assert [d.code for d in result.diagnostics] == ["RC003", "RC103"]
    assert result.draft is not None and "pool:acct/p1" in result.draft.pools
    assert result.draft.versions == {}


def test_a_broken_version_leaves_its_definition_and_siblings_checked(tmp_path: Path) -> None:
    """A sibling version is still sized (RC101) and the definition still judged (RC201)."""

    def mutate(d: dict[str, Any]) -> None:
        image(d)["osState"] = "Specialized"
        image(d)["versions"].append(
            {
                "name": "0.9.0",
                "source": {"snapshots": {"osDisk": SNAP}},
                "targetRegions": [{"name": "westeurope", "replicas": 1}],
            }
        )
        version(d)["colour"] = "red"
        pool(d)["image"]["version"] = "0.9.0"
        pool(d)["scale"]["fixed"]["dedicated"] = 700
        d["batchAccounts"][0]["pools"].append(
            {**pool(d), "name": "p2", "image": {"gallery": "g", "definition": "lin"}}
        )

    result = load(tmp_path, world(mutate))
    assert [(d.code, d.address) for d in result.diagnostics] == [
        ("RC003", "version:g/lin/1.0.0"),
        ("RC101", "version:g/lin/0.9.0"),
        ("RC201", "pool:acct/p1"),
        ("RC201", "pool:acct/p2"),
    ]
    # p2 asks for `latest`, which may be the broken 1.0.0: it adds to no version's sizing.
    assert result.draft is not None
    target = result.draft.versions["version:g/lin/0.9.0"].target_regions["westeurope"]
    assert [c.pool for c in target.sizing.contributions] == ["pool:acct/p1"]
    assert result.diagnostics[3].message == "pool:acct/p2 uses image:g/lin is Specialized"


def test_a_broken_pool_does_not_hide_its_siblings(tmp_path: Path) -> None:
    """The valid pool after a broken one is resolved, sized and checked at its own position."""

    def mutate(d: dict[str, Any]) -> None:
        broken = {**pool(d), "name": "broken", "scale": {"fixed": {"dedicated": "ten"}}}
        account(d)["pools"].insert(0, broken)
        pool_after = account(d)["pools"][1]
        pool_after["nodeAgentSkuId"] = "batch.node.windows amd64"

    result = load(tmp_path, world(mutate))
    assert [(d.code, d.address) for d in result.diagnostics] == [
        ("RC004", "pool:acct/broken"),
        ("RC206", "pool:acct/p1"),
    ]
    rc206 = result.diagnostics[1]
    text = (tmp_path / "spec.yaml").read_text(encoding="utf-8").splitlines()
    assert text[rc206.line - 1][rc206.col - 1 :].startswith("batch.node.windows amd64")
    assert result.draft is not None
    assert list(result.draft.pools) == ["pool:acct/p1"]
    sizing = result.draft.versions["version:g/lin/1.0.0"].target_regions["westeurope"].sizing
    assert sizing.nodes == 10


def test_a_pool_on_a_broken_managed_image_keeps_only_what_it_can_judge(tmp_path: Path) -> None:
    """Two pools on one broken managed image: R7 for each, no dangling, R5 or R10 guesses."""

    def mutate(d: dict[str, Any]) -> None:
        d["managedImages"] = [
            {"name": "mi", "osType": "Linux", "source": {"osDiskSnapshot": "not-an-id"}}
        ]
        pool(d)["image"] = {"managedImage": "mi"}
        account(d)["pools"].append({**pool(d), "name": "p2"})

    result = load(tmp_path, world(mutate))
    assert [(d.code, d.address) for d in result.diagnostics] == [
        ("RC207", "pool:acct/p1"),
        ("RC207", "pool:acct/p2"),
        ("RC011", "managedImage:mi"),
    ]


def test_an_unnamed_broken_resource_is_not_called_missing(tmp_path: Path) -> None:
    """A gallery whose `name` key is misspelt may be the one a pool means: no RC007."""

    def mutate(d: dict[str, Any]) -> None:
        gallery(d)["nmae"] = gallery(d).pop("name")

    result = load(tmp_path, world(mutate))
    assert [d.code for d in result.diagnostics] == ["RC003"]


def test_a_broken_account_reports_only_its_structural_errors(tmp_path: Path) -> None:
    """Pools of an account that failed validation cannot be placed: nothing is guessed."""

    def mutate(d: dict[str, Any]) -> None:
        account(d)["locaton"] = "westeurope"
        pool(d)["taskSlotsPerNode"] = 0
        pool(d)["nodeAgentSkuId"] = "batch.node.windows amd64"

    result = load(tmp_path, world(mutate))
    assert [d.code for d in result.diagnostics] == ["RC011", "RC003"]


_DELETE = object()
_JUNK = st.one_of(
    st.just(_DELETE),
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["", "x", "latest", "1.0.0", "Linux", "PT1M", "batch.node.windows amd64"]),
    st.lists(st.integers(0, 2), max_size=2),
    st.dictionaries(st.sampled_from(["name", "x"]), st.sampled_from(["g", "lin"]), max_size=2),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            out.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            out.extend(_paths(value, (*path, index)))
    return out


_ALL_PATHS = _paths(world())


def _set_at(node: Any, path: tuple[Any, ...], value: Any) -> None:
    """Put `value` at `path` (or delete it) when an earlier change left the way there."""
    for part in path:
        in_dict = isinstance(node, dict) and isinstance(part, str) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not (in_dict or in_list):
            return
        parent, node = node, node[part]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(st.sampled_from(_ALL_PATHS), _JUNK), min_size=1, max_size=4))
def test_any_broken_spec_gives_unique_diagnostics_never_a_traceback(
    tmp_path: Path, changes: list[tuple[tuple[Any, ...], Any]]
) -> None:
    """Random values at random places: diagnostics, each once, and no spec when any is an error."""
    data = world()
    for path, value in changes:
        _set_at(data, path, value)
    result = load_spec([write(tmp_path, data)], today=TODAY)
    assert _unique(result)
    assert (result.spec is None) == (not result.ok)
