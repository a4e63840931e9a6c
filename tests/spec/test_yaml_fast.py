"""The fast YAML reader gives the same data, problems, positions and diagnostics as the full one.

`load_yaml` reads a file with the fast reader first (positions of mappings, lists and
list items only) and asks the full reader for the rest when someone needs a key's or a
scalar's position, or hands it the whole file when the text is unusual. These tests
hold both readers to the same answers, on a table of texts and on generated edits of
the example specs.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.spec import load_spec, loader, yamlpos
from reconciler.spec.yamlpos import YList, YMap, load_yaml, position_of

from .world import TODAY, write

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "specs").rglob("*.yaml"))

SPEC = """\
apiVersion: reconcile/v1
defaults: {subscription: 00000000-0000-0000-0000-000000000001, resourceGroup: rg-images, location: westeurope}
galleries:
  - name: g
    images:
      - name: lin
        osType: Linux
        osState: Generalized
        identifier: {publisher: p, offer: o, sku: s}
        versions:
          - name: 1.0.0
            source:
              snapshots: {osDisk: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-images/providers/Microsoft.Compute/snapshots/s}
            targetRegions:
              - {name: westeurope, replicas: 1}
              - name: eastus
            endOfLifeDate: 2030-01-01
batchAccounts:
  - name: acct
    resourceGroup: rg-batch
    pools:
      - name: p1
        vmSize: Standard_D2s_v5
        image: {gallery: g, definition: lin}
        nodeAgentSkuId: batch.node.ubuntu 22.04
        scale:
          fixed: {dedicated: 10}
        startTask:
          commandLine: "run.sh"
          environment: {KEY: "${env:K}"}
        network:
          subnetId: /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/v/subnets/s
          publicIPAddressProvisioningType: UserManaged
          publicIPs:
            - /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/publicIPAddresses/ip1
            - '/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-net/providers/Microsoft.Network/publicIPAddresses/ip2'
"""

# Texts the fast reader reads itself: every value kind YAML 1.1 resolves, nesting,
# block and flow style, lists of scalars, comments.
USUAL = {
    "spec": SPEC,
    "scalars": "a: 1\nb: 1.5\nc: true\nd: no\ne: ~\nf: 2026-01-02\ng: '1'\nh: \"x\"\ni: 0x1F\nj:\n",
    "timestamp": "when: 2026-01-02 03:04:05\nbad: 2026-02-30\n",
    "nested lists": "a:\n- - 1\n  - 2\n- [3, [4, {x: y}]]\n- {}\n- []\n",
    "block text": "a: |\n  line one\n  line two\nb: >\n  folded\n  text\n",
    "scalar root": "just text\n",
    "list root": "- a\n- b: c\n",
    "explicit document": "---\na: 1\n...\n",
    "comments": "# top\na: 1 # trailing\n# between\nb: [1, 2] # more\n",
    "multi-line plain": "a: one\n  two\nb: x\n",
    "empty": "",
    "only a comment": "# nothing here\n",
    "null document": "---\n",
}

# Texts the fast reader hands to the full one (what it does with them is checked too).
UNUSUAL = {
    "anchor and alias": "base: &b {x: 1}\nuse: *b\nlist: [*b, *b]\n",
    "merge key": "base: &b {x: 1, y: 2}\nuse:\n  <<: *b\n  y: 3\n",
    "merge list": "a: &a {x: 1}\nb: &b {y: 2}\nc: {<<: [*a, *b], z: 3}\n",
    "merge text as a value": "a: <<\n",
    "scalar anchor": "a: &v 5\nb: *v\n",
    "duplicate key": "a: 1\nb: 2\na: 3\n",
    "duplicate mapping key": "a: {x: 1}\na: {x: 2}\n",
    "integer key": "1: a\n",
    "null key": "~: a\n",
    "mapping key": "? {a: 1}\n: b\n",
    "standard tag": "a: !!str 5\n",
    "wrong tag": "a: !!int x\n",
    "local tag": "a: !foo x\n",
    "collection tag": "a: !!map {x: 1}\nb: !!seq [1]\n",
    "unknown alias": "a: *nope\n",
    "syntax error": "a: [1, 2\nb: 3\n",
    "tab indentation": "a:\n\tb: 1\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "bad character": "a: \x07\n",
}


def _positions(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every position a document records, each with the path it belongs to."""
    if isinstance(value, YMap):
        yield (path, "pos", value.pos)
        for key, item in value.items():
            yield (path, "key", key, value.key_pos[key])
            yield (path, "value", key, value.value_pos[key])
            yield from _positions(item, (*path, key))
    elif isinstance(value, YList):
        yield (path, "pos", value.pos)
        for index, item in enumerate(value):
            yield (path, "item", index, value.item_pos[index])
            yield from _positions(item, (*path, index))


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path into a document, plus one missing child under each mapping and list."""
    yield path
    if isinstance(value, dict):
        yield (*path, "missing")
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        yield (*path, len(value))
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


@pytest.mark.parametrize("text", [*USUAL.values(), *UNUSUAL.values()], ids=[*USUAL, *UNUSUAL])
def test_fast_read_gives_the_full_reads_data_problems_and_positions(text: str) -> None:
    """Data, problems and every recorded position are those of the full reader."""
    fast, fast_problems = load_yaml(text)
    full, full_problems = load_yaml(text, fast=False)
    assert fast == full
    assert type(fast) is type(full)
    assert fast_problems == full_problems
    assert list(_positions(fast)) == list(_positions(full))


@pytest.mark.parametrize("text", USUAL.values(), ids=USUAL.keys())
def test_position_of_every_path_matches_before_and_after_a_reread(text: str) -> None:
    """`position_of` answers for every path as on a full read, from a fresh fast read each time."""
    full, _ = load_yaml(text, fast=False)
    for loc in _paths(full):
        for key in (False, True):
            fresh, _ = load_yaml(text)
            assert position_of(fresh, loc, key=key) == position_of(full, loc, key=key), loc


@pytest.mark.parametrize("name", ["spec", "scalars", "nested lists", "comments"])
def test_usual_text_is_read_fast(name: str) -> None:
    """A usual document's mappings wait for a question before reading key positions."""
    data, _ = load_yaml(USUAL[name])
    assert isinstance(data, YMap) and not data.positions_read


@pytest.mark.parametrize(
    "name", ["anchor and alias", "merge key", "duplicate key", "integer key", "wrong tag"]
)
def test_unusual_text_is_read_by_the_full_reader(name: str) -> None:
    """Anchors, merge keys, tags and problems are read with every position at once."""
    data, _ = load_yaml(UNUSUAL[name])
    assert isinstance(data, YMap) and data.positions_read


def test_a_nested_mapping_is_placed_without_reading_the_text_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Where a nested mapping or list item sits is known from the fast read alone."""
    data, _ = load_yaml(SPEC)
    monkeypatch.setattr(yamlpos._Source, "twin", _no_reread)
    version = data["galleries"][0]["images"][0]["versions"][0]
    assert position_of(data, ("galleries", 0, "images", 0, "versions", 0)) == (11, 13)
    assert position_of(version, ("targetRegions", 1)) == (16, 17)
    assert position_of(version, ("source", "snapshots")) == (13, 26)


def _no_reread(self: Any, mapping: YMap) -> YMap:
    raise AssertionError(f"a file was read a second time for the mapping at {mapping.pos}")


@pytest.mark.parametrize("ask", [False, True], ids=["read once", "read again"])
def test_fast_read_data_is_freed_without_the_cycle_collector(ask: bool) -> None:
    """Fast-read mappings and their text form no reference cycle, asked or not."""
    gc.collect()
    gc.disable()
    try:
        data, _ = load_yaml(SPEC)
        if ask:
            assert position_of(data, ("batchAccounts", 0, "name")) == (19, 11)
        del data
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_clean_spec_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a spec with nothing to report never reads a file a second time."""
    monkeypatch.setattr(yamlpos._Source, "twin", _no_reread)
    result = load_spec([write(tmp_path, SPEC)], today=TODAY)
    assert result.ok and not result.diagnostics


def test_settings_repeated_in_every_file_are_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files that each set the same `settings` are not read again to place them."""
    monkeypatch.setattr(yamlpos._Source, "twin", _no_reread)
    header = "apiVersion: reconcile/v1\nsettings: {owner: platform, vmsPerReplica: 600}\n"
    paths = [
        write(tmp_path, SPEC.replace("apiVersion: reconcile/v1\n", header), "a.yaml"),
        write(tmp_path, header, "b.yaml"),
    ]
    result = load_spec(paths, today=TODAY)
    assert result.ok and not result.diagnostics


def test_conflicting_settings_are_placed_at_both_files(tmp_path: Path) -> None:
    """A setting made twice with two values is reported where each was written."""
    first = write(tmp_path, "apiVersion: reconcile/v1\nsettings:\n  owner: a\n", "a.yaml")
    second = write(tmp_path, "apiVersion: reconcile/v1\n\nsettings: {owner: b}\n", "b.yaml")
    result = load_spec([first, second], today=TODAY)
    (problem,) = [d for d in result.diagnostics if d.code == "RC009"]
    assert (problem.file, problem.line, problem.col) == (str(second), 3, 19)
    assert f"first set at {first}:3:10" in problem.hint


def _both(paths: list[Path], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = load_spec(paths, today=TODAY)
    with monkeypatch.context() as patch:
        patch.setattr(loader, "load_yaml", partial(load_yaml, fast=False))
        full = load_spec(paths, today=TODAY)
    return fast, full


# Specs with problems found at every stage: YAML, the models, resolution, the rules.
PROBLEMS = {
    "unknown key": ("osState: Generalized", "osStat: Generalized"),
    "wrong type": ("dedicated: 10", "dedicated: ten"),
    "quoted number": ("dedicated: 10", "dedicated: '10'"),
    "bad enum": ("osType: Linux", "osType: linux"),
    "missing key": ("        vmSize: Standard_D2s_v5\n", ""),
    "dangling image": ("definition: lin", "definition: win"),
    "low replicas": ("replicas: 1", "replicas: 0"),
    "literal secret": ("KEY: ", "PASSWORD: hunter2\n            KEY: "),
    "bad reference": ('"${env:K}"', '"${env:}"'),
    "bad agent": ("batch.node.ubuntu 22.04", "ubuntu"),
    "windows agent": ("batch.node.ubuntu 22.04", "batch.node.windows amd64"),
    "region twice": ("name: eastus", "name: westeurope"),
    "duplicate key": (
        "        vmSize: Standard_D2s_v5\n",
        "        vmSize: a\n        vmSize: b\n",
    ),
    "tag": ("dedicated: 10", "dedicated: !!str 10"),
    "syntax": ("{gallery: g, definition: lin}", "{gallery: g, definition: lin"),
    "past end of life": ("2030-01-01", "2020-01-01"),
    "impossible date": ("2030-01-01", "2030-02-30"),
}


@pytest.mark.parametrize("change", PROBLEMS.values(), ids=PROBLEMS.keys())
def test_diagnostics_of_a_spec_with_problems_are_those_of_the_full_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: tuple[str, str]
) -> None:
    """Every diagnostic keeps its code, text and exact file:line:col."""
    old, new = change
    assert old in SPEC
    path = write(tmp_path, SPEC.replace(old, new, 1))
    fast, full = _both([path], monkeypatch)
    assert fast.diagnostics, "the change should cause a diagnostic"
    assert fast.diagnostics == full.diagnostics


_VALUES = ("x", "1", "yes", "~", "'q'", "[a, b]", "{a: 1}", "2026-02-30", "&x v", "*x", "!!str 3")


def _edit(text: str, edits: list[tuple[int, int, int]]) -> str:
    lines = text.splitlines()
    for at, op, pick in edits:
        i = at % len(lines)
        line = lines[i]
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, line)
        elif op == 2:
            lines[i] = "  " + line
        elif op == 3:
            lines[i] = line[2:] if line.startswith("  ") else line
        elif op == 4 and ": " in line:
            lines[i] = line.split(": ", 1)[0] + ": " + _VALUES[pick % len(_VALUES)]
        else:
            lines.insert(i, line[: len(line) - len(line.lstrip())] + "extra: 1")
        if not lines:
            lines = ["a: 1"]
    return "\n".join(lines) + "\n"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    example=st.sampled_from([*EXAMPLES, None]),
    edits=st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 5), st.integers(0, 50)),
        min_size=1,
        max_size=4,
    ),
)
def test_edited_examples_give_the_same_diagnostics_with_either_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example: Path | None, edits: list[Any]
) -> None:
    """Whatever an edit breaks, both readers report it identically."""
    text = SPEC if example is None else example.read_text(encoding="utf-8")
    path = write(tmp_path, _edit(text, edits), "edited.yaml")
    fast, full = _both([path], monkeypatch)
    assert fast.diagnostics == full.diagnostics
