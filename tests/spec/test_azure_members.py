"""Members written under Azure's own names: checked against the field table, flattened."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.spec.secrets import unset_references

from .world import load, pool, version, world

VMC = "properties.deploymentConfiguration.virtualMachineConfiguration"


def _pool_with(tmp: Path, **members: Any) -> Any:
    data = world()
    pool(data).update(members)
    return load(tmp, data)


def _messages(result: Any) -> list[str]:
    return [f"{d.code} {d.message} | {d.hint}" for d in result.diagnostics if d.code != "RC303"]


def test_members_become_flat_rest_paths(tmp_path: Path) -> None:
    """Nested members flatten to REST paths: list items by position, map keys quoted."""
    uami = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
    result = _pool_with(
        tmp_path,
        identity={"type": "UserAssigned", "userAssignedIdentities": {uami: {}}},
        properties={
            "mountConfiguration": [
                {"nfsMountConfiguration": {"source": "10.0.0.4:/export", "relativeMountPath": "n"}}
            ],
            "taskSchedulingPolicy": {"nodeFillType": "Pack"},
        },
    )
    assert result.ok, _messages(result)
    (resolved,) = result.spec.pools.values()
    assert dict(resolved.azure.values) == {
        "identity.type": "UserAssigned",
        f'identity.userAssignedIdentities["{uami.lower()}"]': "{}",
        "properties.mountConfiguration[0].nfsMountConfiguration.source": "10.0.0.4:/export",
        "properties.mountConfiguration[0].nfsMountConfiguration.relativeMountPath": "n",
        "properties.taskSchedulingPolicy.nodeFillType": "Pack",
    }
    # A written list or map is the whole of it: live items beyond it are differences.
    assert set(resolved.azure.complete) == {
        "identity.userAssignedIdentities[",
        "properties.mountConfiguration[",
    }


@pytest.mark.parametrize("empty", [None, [], {}])
def test_null_or_empty_means_ensure_absent(tmp_path: Path, empty: Any) -> None:
    """`null`, `[]` or `{}` under Azure's names is kept as None: the member must go."""
    result = _pool_with(tmp_path, properties={"mountConfiguration": empty})
    assert result.ok, _messages(result)
    (resolved,) = result.spec.pools.values()
    assert dict(resolved.azure.values) == {"properties.mountConfiguration": None}


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (
            {"properties": {"mountConfigurations": []}},
            "RC003 unknown key 'mountConfigurations' in properties | did you mean "
            "'mountConfiguration'?",
        ),
        (
            {"properties": {"taskSchedulingPolicy": {"nodeFillType": "Packed"}}},
            "RC011 properties.taskSchedulingPolicy.nodeFillType is 'Packed', not one of: "
            "Spread, Pack | did you mean 'Pack'?",
        ),
        (
            {"properties": {"taskSlotsPerNode": "4"}},
            "RC004 properties.taskSlotsPerNode must be an integer, not a string | "
            "remove the quotes: taskSlotsPerNode: 4",
        ),
        (
            {"properties": {"mountConfiguration": {"nfs": 1}}},
            "RC004 properties.mountConfiguration must be a list, not a mapping | "
            "write a list: one `- item` line per entry, indented under `mountConfiguration:`",
        ),
        (
            {"properties": {"vmSize": "Standard_D2s_v5"}},
            "RC014 properties.vmSize is set by `vmSize`, which this resource sets too | "
            "write it as `vmSize` and drop properties.vmSize",
        ),
        (
            {"properties": {"userAccounts": [{"name": "ops", "password": "hunter2"}]}},
            "RC015 properties.userAccounts[0].password is a secret: it takes a ${env:NAME} "
            "reference, not a literal | write properties.userAccounts[0].password: "
            "${env:SOME_NAME} and set SOME_NAME where apply runs",
        ),
    ],
)
def test_problems_say_what_is_wrong_and_how_to_fix_it(
    tmp_path: Path, members: dict[str, Any], expected: str
) -> None:
    """Each problem is one diagnostic with the path, what is wrong and a hint."""
    result = _pool_with(tmp_path, **members)
    assert _messages(result) == [expected]


def test_every_problem_is_reported_at_once_with_its_position(tmp_path: Path) -> None:
    """Two bad members give two diagnostics, each at the line of the member."""
    result = _pool_with(
        tmp_path,
        properties={
            "taskSchedulingPolicy": {"nodeFillType": "X"},
            "interNodeCommunicaton": "Enabled",
        },
    )
    lines = (tmp_path / "spec.yaml").read_text().splitlines()

    def line_of(text: str) -> int:
        return next(n for n, line in enumerate(lines, 1) if text in line)

    found = sorted((d.code, d.line) for d in result.diagnostics)
    assert found == [
        ("RC003", line_of("interNodeCommunicaton:")),
        ("RC011", line_of("nodeFillType:")),
    ]


def test_a_start_task_member_is_free_when_the_friendly_start_task_is_absent(
    tmp_path: Path,
) -> None:
    """A path a friendly key owns only when set may be written under Azure's name."""
    result = _pool_with(tmp_path, properties={"startTask": {"commandLine": "run.sh"}})
    assert result.ok, _messages(result)


def test_a_region_carries_its_encryption_under_azure_names(tmp_path: Path) -> None:
    """A target region's members besides name and count keep Azure's names, keyed by region."""
    data = world()
    des = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/diskEncryptionSets/d"
    version(data)["targetRegions"][0]["encryption"] = {"osDiskImage": {"diskEncryptionSetId": des}}
    result = load(tmp_path, data)
    assert result.ok, _messages(result)
    (resolved,) = result.spec.versions.values()
    region = version(data)["targetRegions"][0]["name"]
    assert dict(resolved.azure.values) == {
        f"targetRegions[{region}].encryption.osDiskImage.diskEncryptionSetId": des
    }


def test_an_unset_secret_reference_under_azure_names_is_warned_about(tmp_path: Path) -> None:
    """RC303 names a variable a mount key refers to when it is not set where plan runs."""
    share = {
        "accountName": "st",
        "azureFileUrl": "https://st.file.core.windows.net/s",
        "accountKey": "${env:SHARE_KEY_FOR_TEST}",
        "relativeMountPath": "s",
    }
    result = _pool_with(
        tmp_path, properties={"mountConfiguration": [{"azureFileShareConfiguration": share}]}
    )
    assert result.ok, _messages(result)
    warnings = unset_references(result.spec, environ={})
    assert [w.code for w in warnings] == ["RC303"]
    assert "SHARE_KEY_FOR_TEST" in warnings[0].message
    assert unset_references(result.spec, environ={"SHARE_KEY_FOR_TEST": "x"}) == ()
