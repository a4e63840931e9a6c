"""The resolved model others build on: ids, addresses, latest pinning, secrets, immutability."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from reconciler.errors import SecretError
from reconciler.spec import (
    load_spec,
    parse_id,
    pool_id,
    resolve_secrets,
    version_id,
)

from .world import SUB, TODAY, account, image, load, pool, rid, snap, version, world, write


def _two_versions(d: dict) -> None:
    image(d)["versions"] += [
        {**version(d), "name": "1.10.0"},
        {**version(d), "name": "2.0.0", "excludeFromLatest": True},
        {**version(d), "name": "1.9.0"},
    ]


def test_latest_pins_the_highest_version_not_excluded(tmp_path: Path) -> None:
    """`latest` resolves numerically (1.10.0 > 1.9.0) and skips excludeFromLatest versions."""
    spec = load(tmp_path, world(_two_versions)).spec
    ref = spec.pools["pool:acct/p1"].image
    assert ref.address == "version:g/lin/1.10.0"
    assert ref.id == version_id(SUB, "rg-images", "g", "lin", "1.10.0")
    assert ref.pinned_from_latest and ref.declared_version == "latest"
    assert spec.images["image:g/lin"].latest == "version:g/lin/1.10.0"
    assert spec.versions["version:g/lin/1.10.0"].used_by == ("pool:acct/p1",)


def test_resources_know_ids_placement_and_where_they_were_declared(tmp_path: Path) -> None:
    """Each value carries its Azure id, inherited placement and source location."""
    path = write(tmp_path, world())
    spec = load_spec([path], today=TODAY).spec
    p = spec.pools["pool:acct/p1"]
    assert p.id == pool_id(SUB, "rg-batch", "acct", "p1")
    assert (p.subscription, p.resource_group, p.location) == (SUB, "rg-batch", "westeurope")
    assert p.declared_at.file == str(path) and p.declared_at.line > 1
    assert parse_id(p.id).kind == "microsoft.batch/batchaccounts/pools"
    assert spec.get("gallery:g").id == (
        f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute/galleries/g"
    )
    assert [r.address for r in spec.resources()][:3] == [
        "gallery:g",
        "image:g/lin",
        "version:g/lin/1.0.0",
    ]
    assert spec.pools_using("version:g/lin/1.0.0") == (p,)


def test_raw_ids_to_declared_resources_are_recognised(tmp_path: Path) -> None:
    """A pool's raw `{id}` naming a declared version counts towards its replicas."""

    def mutate(d: dict) -> None:
        pool(d)["image"] = {"id": version_id(SUB, "rg-images", "g", "lin", "1.0.0").upper()}
        pool(d)["scale"]["fixed"]["dedicated"] = 1300

    spec = load(tmp_path, world(mutate)).spec
    assert spec.pools["pool:acct/p1"].image.address == "version:g/lin/1.0.0"
    assert spec.versions["version:g/lin/1.0.0"].target_regions["westeurope"].replicas == 3


def test_version_sources_link_to_declared_managed_images(tmp_path: Path) -> None:
    """A version built from a declared managed image depends on it (for ordering)."""

    def mutate(d: dict) -> None:
        d["managedImages"] = [
            {
                "name": "img",
                "osType": "Linux",
                "hyperVGeneration": "V2",
                "source": {"osDiskSnapshot": snap("s")},
            }
        ]
        version(d)["source"] = {"managedImage": rid("images", "img")}

    spec = load(tmp_path, world(mutate)).spec
    assert spec.versions["version:g/lin/1.0.0"].source.depends_on == "managedImage:img"


def test_values_are_immutable(tmp_path: Path) -> None:
    """Resolved values are frozen: attributes and mappings cannot be changed."""
    spec = load(tmp_path, world()).spec
    p = spec.pools["pool:acct/p1"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.pools["x"] = p  # type: ignore[index]


def _with_secrets(d: dict) -> None:
    pool(d)["startTask"] = {
        "commandLine": "run --token ${env:API_TOKEN}",
        "environment": {"LICENSE_KEY": "${env:LIC}", "PLAIN": "x"},
    }


def test_secret_references_stay_references_until_resolved(tmp_path: Path) -> None:
    """The model keeps ${env:...} text; resolve_secrets reads the environment, masked in repr."""
    spec = load(tmp_path, world(_with_secrets)).spec
    task = spec.pools["pool:acct/p1"].start_task
    assert task.environment["LICENSE_KEY"] == "${env:LIC}"
    assert task.secret_refs == ("API_TOKEN", "LIC")
    secrets = resolve_secrets(spec, environ={"API_TOKEN": "t0p", "LIC": "s3cret"})
    resolved = secrets["pool:acct/p1"]
    assert resolved.command_line.reveal() == "run --token t0p"
    assert resolved.environment["LICENSE_KEY"].reveal() == "s3cret"
    assert "s3cret" not in repr(secrets) and "t0p" not in str(resolved.command_line)
    assert str(resolved.environment["LICENSE_KEY"]) == "***"


def test_missing_secret_is_one_clear_error(tmp_path: Path) -> None:
    """A missing environment variable raises SecretError naming it and the pool."""
    spec = load(tmp_path, world(_with_secrets)).spec
    with pytest.raises(SecretError) as info:
        resolve_secrets(spec, environ={"API_TOKEN": "x"})
    assert str(info.value) == (
        "secret references have no value: environment variable(s) LIC (needed by pool:acct/p1) "
        "not set"
    )  # API_TOKEN is set, so only LIC is named
    assert info.value.hint.startswith("export them in the environment that runs `reconcile apply`")


def test_json_form_masks_secret_looking_literals(tmp_path: Path) -> None:
    """to_dict() and repr mask references and literal values of secret-looking variables."""

    def mutate(d: dict) -> None:
        pool(d)["startTask"] = {
            "commandLine": "x",
            "environment": {"DB_PASSWORD": "hunter2", "REF_KEY": "${env:K}"},
        }

    result = load(tmp_path, world(mutate))
    task = result.spec.pools["pool:acct/p1"].start_task
    for text in (json.dumps(result.spec.to_dict()), repr(result.spec)):
        assert "hunter2" not in text and "${env:K}" not in text and "***" in text
    assert task.environment["REF_KEY"] == "${env:K}"  # the model itself keeps the reference


def test_duplicate_accounts_merge_when_placement_agrees(tmp_path: Path) -> None:
    """An account listed in two files merges its pools; a different placement is RC006."""
    a = write(tmp_path, world(), "a.yaml")
    other = world()
    other.pop("galleries")
    pool(other)["name"] = "p2"
    b = write(tmp_path, other, "b.yaml")
    result = load_spec([a, b], today=TODAY)
    assert result.ok, [d.format() for d in result.diagnostics]
    assert result.spec.batch_accounts["batchAccount:acct"].pools == ("pool:acct/p1", "pool:acct/p2")
    account(other)["resourceGroup"] = "rg-elsewhere"
    write(tmp_path, other, "b.yaml")
    assert "RC006" in [d.code for d in load_spec([a, b], today=TODAY).diagnostics]
