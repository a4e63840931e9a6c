"""Every error category is reported as file:line:col: CODE message, with a hint, all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.spec import load_spec

from .world import TODAY, write

HEAD = """\
apiVersion: reconcile/v1
defaults:
  subscription: 00000000-0000-0000-0000-000000000001
  resourceGroup: rg-images
  location: westeurope
"""

GALLERY = """\
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
"""

POOLS = """\
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
"""


def _formatted(tmp: Path, *texts: str) -> list[str]:
    paths = [write(tmp, text, f"f{i}.yaml") for i, text in enumerate(texts)]
    result = load_spec(paths, today=TODAY)
    return [d.format().replace(str(tmp) + "/", "") for d in result.diagnostics]


def test_valid_pieces_are_valid(tmp_path: Path) -> None:
    """The building blocks used below validate cleanly on their own."""
    assert _formatted(tmp_path, HEAD + GALLERY + POOLS) == []


def test_yaml_syntax_error_position(tmp_path: Path) -> None:
    """A YAML syntax error names the parser's line and column and where the broken part starts."""
    out = _formatted(tmp_path, HEAD + "galleries:\n  - name: [g\n")
    assert out[0].startswith("f0.yaml:8:1: RC001 YAML syntax error:")
    assert "hint: check the `[...]` list that starts at line 7, column 11" in out[0]
    assert "while parsing" not in out[0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        pytest.param(HEAD + "galleries:\n\t- name: g\n", "f0.yaml:7:1", id="tab-at-line-start"),
        pytest.param(
            HEAD + "galleries:\n  - name: g\n\tdescription: d\n", "f0.yaml:8:1", id="tab-in-list"
        ),
        pytest.param(
            HEAD + "galleries:\n  - name: g\n    \tdescription: d\n",
            "f0.yaml:8:5",
            id="tab-after-spaces",
        ),
    ],
)
def test_tab_indentation_says_replace_the_tab(tmp_path: Path, text: str, where: str) -> None:
    """A tab used for indentation is named at the tab, with the fix, and no parser internals."""
    out = _formatted(tmp_path, text)
    assert out == [
        f"{where}: RC001 YAML syntax error: a tab character is used for indentation\n"
        "  hint: replace the tab with spaces; YAML indents with spaces only"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            HEAD + GALLERY + POOLS.replace("vmSize:", "vmSize: Standard_D2s_v5\n        vmSize:"),
            "f0.yaml:23:9: RC002 duplicate key 'vmSize'\n"
            "  hint: first defined at line 22, column 9; keep one",
            id="duplicate-key-at-the-second-naming-the-first",
        ),
        pytest.param(
            HEAD + GALLERY + POOLS.replace("dedicated: 10", "dedicated: ten"),
            "f0.yaml:26:30: RC004 wrong type for batchAccounts[0].pools[0].scale.fixed.dedicated: "
            "expected an integer, got string 'ten' [pool:acct/p1]\n"
            "  hint: write a whole number without quotes, e.g. dedicated: 4",
            id="wrong-type-at-the-value-saying-what-was-expected",
        ),
        pytest.param(
            HEAD + GALLERY + POOLS.replace("        vmSize: Standard_D2s_v5\n", ""),
            "f0.yaml:21:9: RC005 missing required key 'vmSize' in batchAccounts[0].pools[0] "
            "[pool:acct/p1]\n  hint: add `vmSize:`",
            id="missing-key-at-the-mapping-that-lacks-it",
        ),
        pytest.param(
            HEAD + GALLERY.replace("osType: Linux", "osType: linux") + POOLS,
            "f0.yaml:10:17: RC011 invalid value string 'linux' for galleries[0].images[0].osType: "
            "expected one of Linux, Windows [image:g/lin]\n"
            "  hint: did you mean 'Linux'? (values are case-sensitive)",
            id="invalid-enum-lists-choices-and-suggests-the-spelling",
        ),
        pytest.param(
            HEAD + GALLERY + POOLS.replace("definition: lin", "definition: lyn"),
            "f0.yaml:23:16: RC007 pool:acct/p1 uses image definition 'lyn' in gallery 'g', which "
            "no spec file declares\n  hint: did you mean 'lin'? declare it under `galleries:` or "
            "fix the reference",
            id="dangling-reference-at-the-image-suggesting-a-name",
        ),
    ],
)
def test_error_category_position_and_hint(tmp_path: Path, text: str, expected: str) -> None:
    """Each error category is the only diagnostic, at its exact position, with its hint."""
    assert _formatted(tmp_path, text) == [expected]


def test_unknown_key_position_and_suggestion(tmp_path: Path) -> None:
    """An unknown key points at the key and suggests the closest allowed one (no 'missing')."""
    out = _formatted(tmp_path, HEAD + GALLERY.replace("osState:", "osStat:") + POOLS)
    assert out[0].startswith(
        "f0.yaml:11:9: RC003 unknown key 'osStat' in galleries[0].images[0] [image:g/lin]\n"
        "  hint: did you mean 'osState'?"
    )


def test_number_where_a_string_is_expected_suggests_quotes(tmp_path: Path) -> None:
    """A version name YAML reads as a number gets a hint to quote it."""
    out = _formatted(tmp_path, HEAD + GALLERY.replace("name: 1.0.0", "name: 1.0") + POOLS)
    assert out[0].startswith(
        "f0.yaml:14:19: RC004 wrong type for galleries[0].images[0].versions[0].name: "
        "expected a string, got number 1"
    )
    assert 'hint: quote it to make it a string: name: "1.0"' in out[0]


def test_duplicate_name_across_files(tmp_path: Path) -> None:
    """The same gallery in two files is reported at the second, naming the first."""
    out = _formatted(tmp_path, HEAD + GALLERY + POOLS, HEAD + GALLERY)
    assert out[0] == (
        "f1.yaml:7:11: RC006 duplicate gallery: gallery:g is already declared\n"
        f"  hint: first declared at {tmp_path}/f0.yaml:7:5; names must be unique across all "
        "spec files".replace(str(tmp_path) + "/", "")
    )


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    """Problems in different resources and files are all reported, in file/line order."""
    bad_gallery = GALLERY.replace("osType: Linux", "osType: Linuks")
    bad_pools = POOLS.replace("dedicated: 10", "dedicated: -1").replace(
        "name: p1", "name: p1\n        colour: red"
    )
    out = _formatted(tmp_path, HEAD + bad_gallery, HEAD + bad_pools)
    codes = [line.split(" ")[1] for line in out]
    assert codes == ["RC011", "RC003", "RC011"]
    assert [line.split(":")[0] for line in out] == ["f0.yaml", "f1.yaml", "f1.yaml"]


def test_broken_resource_does_not_cause_knock_on_errors(tmp_path: Path) -> None:
    """A pool referencing a gallery that failed validation gets no extra dangling error."""
    out = _formatted(tmp_path, HEAD + GALLERY.replace("osState: Generalized", "osState: 3") + POOLS)
    assert len(out) == 1 and " RC011 " in out[0]


def test_no_traceback_for_non_mapping_documents(tmp_path: Path) -> None:
    """A file that is a list, or whose resources are scalars, is a typed error."""
    assert _formatted(tmp_path, "- a\n- b\n")[0].startswith("f0.yaml:1:1: RC004 expected a mapping")
    out = _formatted(tmp_path, HEAD + "galleries: [3]\n")
    assert out[0].startswith("f0.yaml:6:13: RC004 expected a mapping for galleries[0]")


def test_merge_keys_and_anchors_are_supported(tmp_path: Path) -> None:
    """YAML anchors and `<<` merges work; explicit keys win over merged ones."""
    text = (
        HEAD
        + GALLERY
        + POOLS.replace(
            "      - name: p1\n",
            "      - &base\n        name: p0\n        vmSize: Standard_D2s_v5\n"
            "        image: {gallery: g, definition: lin}\n"
            "        nodeAgentSkuId: batch.node.ubuntu 22.04\n"
            "        scale: {fixed: {dedicated: 1}}\n"
            "      - <<: *base\n        name: p1\n",
        ).replace(
            "        vmSize: Standard_D2s_v5\n        image: {gallery: g, definition: lin}\n        nodeAgentSkuId: batch.node.ubuntu 22.04\n        scale:\n          fixed: {dedicated: 10}\n",
            "",
        )
    )
    result = load_spec([write(tmp_path, text)], today=TODAY)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert list(result.spec.pools) == ["pool:acct/p0", "pool:acct/p1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "apiVersion: reconcile/v1\n---\napiVersion: reconcile/v1\n",
            "f0.yaml:2:1: RC001 YAML syntax error: expected a single document",
        ),
        (
            "apiVersion: reconcile/v1\nsettings: *nowhere\n",
            "f0.yaml:2:11: RC001 unknown alias *nowhere",
        ),
        (
            "apiVersion: reconcile/v1\n1: x\n",
            "f0.yaml:2:1: RC004 mapping key must be a string, got 1",
        ),
        (
            "apiVersion: reconcile/v1\nsettings: !!binary aGk=\n",
            "f0.yaml:2:11: RC004 unsupported YAML tag !!binary",
        ),
        (
            "apiVersion: reconcile/v1\nsettings: {vmsPerReplica: 601}\n",
            "f0.yaml:2:27: RC011 invalid value integer 601 for settings.vmsPerReplica: must be at most 600",
        ),
    ],
)
def test_more_error_positions(tmp_path: Path, text: str, expected: str) -> None:
    """Other YAML and value problems are positioned too."""
    assert _formatted(tmp_path, text)[0].startswith(expected)


def test_bad_pinned_version_and_duplicate_region(tmp_path: Path) -> None:
    """A pinned version that is not X.Y.Z, and a region listed twice, are positioned errors."""
    gallery = GALLERY + "            targetRegions: [{name: westeurope}, {name: West Europe}]\n"
    pools = POOLS.replace("definition: lin}", "definition: lin, version: '1.0'}")
    out = _formatted(tmp_path, HEAD + gallery + pools)
    assert out[0].startswith(
        "f0.yaml:17:49: RC006 version:g/lin/1.0.0 lists target region westeurope twice"
    )
    assert out[1].startswith(
        "f0.yaml:24:16: RC011 batchAccounts[0].pools[0].image: version '1.0' is neither"
    )


def test_warning_format(tmp_path: Path) -> None:
    """Warnings read `CODE warning: message` and still exit clean."""
    pools = POOLS.replace(
        "          fixed: {dedicated: 10}\n",
        "          fixed: {dedicated: 10}\n        startTask: {commandLine: x, environment: {API_TOKEN: abc}}\n",
    )
    out = _formatted(tmp_path, HEAD + GALLERY + pools)
    assert out[0].startswith(
        "f0.yaml:27:62: RC301 warning: pool:acct/p1: startTask.environment.API_TOKEN"
    )


def test_start_task_user_name_is_refused_with_the_auto_user_hint(tmp_path: Path) -> None:
    """`startTask.userIdentity.userName` is an unknown key whose hint points to the auto user."""
    pools = POOLS + "        startTask: {commandLine: x, userIdentity: {userName: alice}}\n"
    out = _formatted(tmp_path, HEAD + GALLERY + pools)
    assert len(out) == 1
    assert out[0].startswith(
        "f0.yaml:27:52: RC003 unknown key 'userName' in "
        "batchAccounts[0].pools[0].startTask.userIdentity [pool:acct/p1]\n"
        "  hint: a named user is not supported"
    )
    assert "`elevationLevel: Admin`" in out[0] and "`scope: Pool`" in out[0]
    assert "allowed keys here: elevationLevel, scope" in out[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            "resourceGroup: rg-batch",
            "resourceGroup: !!bool rg-batch",
            "f0.yaml:19:20: RC004 YAML tag !!bool does not fit the value 'rg-batch': "
            "needs true or false",
            id="bool",
        ),
        pytest.param(
            "apiVersion: reconcile/v1",
            "apiVersion: !!int reconcile/v1",
            "f0.yaml:1:13: RC004 YAML tag !!int does not fit the value 'reconcile/v1': "
            "needs an integer",
            id="int",
        ),
        pytest.param(
            "osType: Linux",
            "osType: !!float x64",
            "f0.yaml:10:17: RC004 YAML tag !!float does not fit the value 'x64': needs a number",
            id="float",
        ),
        pytest.param(
            "name: 1.0.0",
            "name: !!timestamp soon",
            "f0.yaml:14:19: RC004 YAML tag !!timestamp does not fit the value 'soon': "
            "needs a date (YYYY-MM-DD) or a time stamp",
            id="timestamp",
        ),
        pytest.param(
            "name: p1",
            "name: !!null p1",
            "f0.yaml:21:15: RC004 YAML tag !!null does not fit the value 'p1': "
            "needs an empty value or null",
            id="null",
        ),
        pytest.param(
            "name: p1",
            "name: !foo p1",
            "f0.yaml:21:15: RC004 unsupported YAML tag !foo",
            id="local",
        ),
        pytest.param(
            "fixed: {dedicated: 10}",
            "fixed: !!seq {dedicated: 10}",
            "f0.yaml:26:18: RC004 unsupported YAML tag !!seq on a mapping",
            id="collection",
        ),
    ],
)
def test_explicit_tags_are_diagnosed_at_the_tag(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    """An explicit YAML tag the value does not fit is RC004 at its position, never a crash."""
    text = (HEAD + GALLERY + POOLS).replace(old, new, 1)
    out = _formatted(tmp_path, text)
    assert out[0].startswith(expected), out
    assert "hint: remove the tag" in out[0]


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "2026-01-01 25:00:00"])
def test_impossible_dates_are_a_type_error_not_a_crash(tmp_path: Path, value: str) -> None:
    """A plain value shaped like a date that is no date is reported by the field that reads it."""
    gallery = GALLERY.replace("- name: 1.0.0", f"- name: 1.0.0\n            endOfLifeDate: {value}")
    out = _formatted(tmp_path, HEAD + gallery + POOLS)
    assert len(out) == 1 and "RC004" in out[0] and "endOfLifeDate" in out[0], out
