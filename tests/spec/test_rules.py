"""Every spec-phase diagnostic code: one spec that triggers it, one close to it that does not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.spec import CODES, load_spec
from reconciler.spec.rules import RULE_CODES

from .world import (
    SUB,
    SUB2,
    TODAY,
    account,
    codes,
    gallery,
    image,
    load,
    pool,
    rid,
    snap,
    version,
    world,
    write,
)

Mutation = Callable[[dict[str, Any]], object]


def _set(getter: Callable[[dict[str, Any]], dict[str, Any]], **values: Any) -> Mutation:
    return lambda d: getter(d).update(values)


def _fixed(**values: Any) -> Mutation:
    return lambda d: pool(d)["scale"]["fixed"].update(values)


def _autoscale(**extra: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        pool(d)["scale"] = {
            "autoScale": {"formula": "$TargetDedicatedNodes = 1", "maxNodes": 10, **extra}
        }

    return mutate


def _managed(
    *, pools: int = 1, images: int = 1, same_snapshot: bool = False, **img: Any
) -> Mutation:
    """Pools on managed images: `images` images, the first `pools` pools cycling over them."""

    def mutate(d: dict[str, Any]) -> None:
        d["managedImages"] = [
            {
                "name": f"mi{i}",
                "osType": "Linux",
                "source": {"osDiskSnapshot": snap("base" if same_snapshot else f"base{i}")},
                **img,
            }
            for i in range(images)
        ]
        template = pool(d)
        account(d)["pools"] = [
            {**template, "name": f"mp{j}", "image": {"managedImage": f"mi{j % images}"}}
            for j in range(pools)
        ]

    return mutate


def _then(*mutations: Mutation) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for m in mutations:
            m(d)

    return mutate


def _second_definition(**identifier: str) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        other = {**image(d), "name": "lin2", "versions": []}
        other["identifier"] = {**image(d)["identifier"], **identifier}
        gallery(d)["images"].append(other)

    return mutate


def _nat(**values: Any) -> dict[str, Any]:
    return {
        "name": "ssh",
        "protocol": "TCP",
        "backendPort": 22,
        "frontendPortRangeStart": 15000,
        "frontendPortRangeEnd": 15099,
        **values,
    }


def _network(**values: Any) -> Mutation:
    return lambda d: pool(d).update(network=values)


def _env(**environment: str) -> Mutation:
    return lambda d: pool(d).update(
        startTask={"commandLine": "/bin/true", "environment": environment}
    )


# code → (triggering mutation, similar mutation that must not trigger it)
_IDENTITY = rid("userAssignedIdentities", "pool-id").replace(
    "Microsoft.Compute", "Microsoft.ManagedIdentity"
)
_UAMI = {"type": "UserAssigned", "userAssignedIdentities": {_IDENTITY: {}}}
_FILE = {
    "storageContainerUrl": "https://st.blob.core.windows.net/tools",
    "identityReference": {"resourceId": _IDENTITY},
}
_TRUSTED = {
    "deploymentConfiguration": {
        "virtualMachineConfiguration": {"securityProfile": {"securityType": "trustedLaunch"}}
    }
}
_DATA_DISK_DES = {
    "dataDiskImages": [{"lun": 3, "diskEncryptionSetId": rid("diskEncryptionSets", "d")}]
}
_FEATURES = {"features": [{"name": "SecurityType", "value": "TrustedLaunchSupported"}]}

CASES: dict[str, tuple[Mutation, Mutation]] = {
    "RC003": (_set(image, osTyp="Linux"), _set(image, osType="Linux")),
    "RC004": (_fixed(dedicated="10"), _fixed(dedicated=10)),
    "RC005": (lambda d: pool(d).pop("nodeAgentSkuId"), lambda d: None),
    "RC006": (
        lambda d: account(d)["pools"].append(dict(pool(d))),
        lambda d: account(d)["pools"].append({**pool(d), "name": "p2"}),
    ),
    "RC007": (
        _set(pool, image={"gallery": "nope", "definition": "lin"}),
        _set(pool, image={"gallery": "g", "definition": "lin", "version": "1.0.0"}),
    ),
    "RC008": (lambda d: d.update(apiVersion="reconcile/v2"), lambda d: None),
    "RC011": (_set(image, osType="linux"), _set(image, osType="Windows", osState="Generalized")),
    "RC012": (_set(version, excludeFromLatest=True), _set(version, excludeFromLatest=False)),
    "RC014": (
        _set(pool, properties={"vmSize": "Standard_D4s_v5"}),
        _set(pool, properties={"taskSchedulingPolicy": {"nodeFillType": "Pack"}}),
    ),
    "RC015": (
        _set(pool, properties={"userAccounts": [{"name": "ops", "password": "hunter2"}]}),
        _set(pool, properties={"userAccounts": [{"name": "ops", "password": "${env:OPS_PW}"}]}),
    ),
    "RC101": (
        _then(_fixed(dedicated=700), lambda d: version(d)["targetRegions"][0].update(replicas=1)),
        _then(_fixed(dedicated=700), lambda d: version(d)["targetRegions"][0].update(replicas=2)),
    ),
    "RC102": (_fixed(dedicated=60001), _fixed(dedicated=60000)),
    "RC103": (_fixed(resizeTimeout="PT14M"), _fixed(resizeTimeout="PT15M")),
    "RC105": (_autoscale(resizeTimeout="PT30M"), _autoscale()),
    "RC201": (_set(image, osState="Specialized"), _set(image, osState="Generalized")),
    "RC202": (_set(gallery, subscription=SUB2), _set(gallery, subscription=SUB)),
    "RC203": (
        _set(account, location="eastus"),
        _then(
            _set(account, location="eastus"),
            lambda d: version(d)["targetRegions"].append({"name": "eastus"}),
        ),
    ),
    "RC204": (_managed(location="northeurope"), _managed(location="westeurope")),
    "RC205": (_managed(subscription=SUB2), _managed(subscription=SUB)),
    "RC206": (
        _set(pool, nodeAgentSkuId="batch.node.windows amd64"),
        _set(pool, nodeAgentSkuId="batch.node.ubuntu 20.04"),
    ),
    "RC207": (_managed(), lambda d: None),
    "RC208": (_managed(pools=2, images=1), _managed(pools=2, images=2)),
    "RC209": (_managed(pools=2, images=2, same_snapshot=True), _managed(pools=2, images=2)),
    "RC210": (
        _then(_managed(), _fixed(dedicated=2501)),
        _then(_managed(), _fixed(dedicated=2500, lowPriority=1000)),
    ),
    "RC211": (_second_definition(), _second_definition(sku="ubuntu-arm")),
    "RC213": (
        _set(version, source={"virtualMachine": rid("virtualMachines", "vm-build")}),
        _set(version, source={"managedImage": rid("images", "img-build")}),
    ),
    "RC215": (_set(version, endOfLifeDate="2026-01-01"), _set(version, endOfLifeDate="2027-01-01")),
    "RC216": (
        _set(version, targetRegions=[{"name": "eastus"}]),
        _set(version, targetRegions=[{"name": "West Europe"}, {"name": "eastus"}]),
    ),
    "RC230": (
        _set(pool, properties={"startTask": {"resourceFiles": [_FILE]}}),
        _set(pool, identity=_UAMI, properties={"startTask": {"resourceFiles": [_FILE]}}),
    ),
    "RC231": (
        _then(_set(image, hyperVGeneration="V2"), _set(pool, properties=_TRUSTED)),
        _then(
            _set(image, hyperVGeneration="V2", properties=_FEATURES),
            _set(pool, properties=_TRUSTED),
        ),
    ),
    "RC232": (
        lambda d: version(d)["targetRegions"][0].update(encryption=_DATA_DISK_DES),
        lambda d: version(d)["targetRegions"][0].update(
            encryption={"osDiskImage": {"diskEncryptionSetId": rid("diskEncryptionSets", "d")}}
        ),
    ),
    "RC217": (
        _then(
            _managed(),
            lambda d: d["managedImages"][0].update(osType="Windows"),
            _set(version, source={"managedImage": rid("images", "mi0")}),
        ),
        _then(
            _managed(hyperVGeneration="V2"),
            _set(version, source={"managedImage": rid("images", "mi0")}),
        ),
    ),
    "RC301": (_env(LICENSE_KEY="abc123"), _env(LICENSE_KEY="${env:RENDER_LICENSE_KEY}", MODE="x")),
    "RC302": (_env(TOKEN="${env:bad-name}"), _env(TOKEN="${env:GOOD_NAME}")),
    "RC401": (
        _network(inboundNatPools=[_nat(backendPort=29876)]),
        _network(
            inboundNatPools=[
                _nat(),
                _nat(
                    name="rdp",
                    backendPort=3389,
                    frontendPortRangeStart=16000,
                    frontendPortRangeEnd=16099,
                ),
            ]
        ),
    ),
    "RC402": (
        _then(
            _fixed(dedicated=150),
            _network(publicIPAddressProvisioningType="UserManaged", publicIPs=[]),
        ),
        _then(
            _fixed(dedicated=150),
            _network(
                publicIPAddressProvisioningType="UserManaged",
                publicIPs=[
                    f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/publicIPAddresses/ip{i}"
                    for i in range(2)
                ],
            ),
        ),
    ),
    "RC403": (
        _network(publicIPAddressProvisioningType="NoPublicIPAddresses", inboundNatPools=[_nat()]),
        _network(publicIPAddressProvisioningType="BatchManaged", inboundNatPools=[_nat()]),
    ),
    "RC404": (_autoscale(evaluationInterval="PT1M"), _autoscale(evaluationInterval="PT5M")),
    "RC405": (_set(pool, vmSize="Standard_DS3_v2"), _set(pool, vmSize="Standard_D4s_v5")),
}


def test_the_base_world_is_clean(tmp_path: Path) -> None:
    """The base spec used by the rule cases has no diagnostic at all."""
    result = load(tmp_path, world())
    assert result.diagnostics == ()
    assert result.spec is not None


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_is_triggered(tmp_path: Path, code: str) -> None:
    """The triggering spec yields the code, with a position and a hint."""
    trigger, _ = CASES[code]
    result = load(tmp_path, world(trigger))
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1, [d.format() for d in result.diagnostics]
    (d,) = found
    assert d.severity == CODES[code].severity
    assert d.file == str(tmp_path / "spec.yaml")  # the file as given to load_spec
    assert d.line is not None and d.line >= 1 and d.col is not None and d.col >= 1
    assert d.hint.strip(), d.format()
    assert (result.spec is None) == any(x.is_error for x in result.diagnostics)


@pytest.mark.parametrize("code", sorted(CASES))
def test_code_is_not_triggered_by_the_near_miss(tmp_path: Path, code: str) -> None:
    """The similar, correct spec does not yield the code."""
    _, near_miss = CASES[code]
    result = load(tmp_path, world(near_miss))
    assert code not in codes(result), [d.format() for d in result.diagnostics]


@pytest.mark.parametrize(
    ("vm_size", "says"),
    [
        ("huge", "is not an Azure VM size"),
        ("Standrad_D4s_v5", "is not an Azure VM size"),
        ("D4s_v5", "is not an Azure VM size"),
        ("Standard_DS3_v2", "Batch does not support"),
        ("STANDARD_A0", "Batch does not support"),
    ],
)
def test_rc405_names_what_is_wrong_with_a_vm_size(tmp_path: Path, vm_size: str, says: str) -> None:
    """A vmSize that is no Azure size name, or one Batch refuses, is RC405 saying which."""
    result = load(tmp_path, world(_set(pool, vmSize=vm_size)))
    (found,) = [d for d in result.diagnostics if d.code == "RC405"]
    assert says in found.message


@pytest.mark.parametrize(
    "vm_size",
    [
        "Standard_D4s_v5",
        "standard_nc24ads_a100_v4",
        "STANDARD_HB120RS_V3",
        "Standard_B1ls",
        "Basic_A1",
    ],
)
def test_rc405_accepts_any_azure_size_name_batch_supports(tmp_path: Path, vm_size: str) -> None:
    """Sizes of any family and casing that Batch supports pass RC405."""
    assert "RC405" not in codes(load(tmp_path, world(_set(pool, vmSize=vm_size))))


# Codes that need more than one file, raw text, or a missing path.
def test_rc001_yaml_syntax(tmp_path: Path) -> None:
    """Broken YAML is RC001 at the parser's position."""
    result = load(tmp_path, "apiVersion: reconcile/v1\ngalleries: [\n")
    assert codes(result) == ["RC001"]


def test_rc002_duplicate_key(tmp_path: Path) -> None:
    """A key written twice in one mapping is RC002."""
    result = load(tmp_path, "apiVersion: reconcile/v1\napiVersion: reconcile/v1\n")
    assert codes(result) == ["RC002"]


def test_rc008_empty_file(tmp_path: Path) -> None:
    """An empty file is RC008."""
    result = load(tmp_path, "# nothing here\n")
    assert codes(result) == ["RC008"]


def test_rc009_conflicting_settings(tmp_path: Path) -> None:
    """Two files setting a setting differently is RC009; agreeing values are fine."""
    a = write(tmp_path, world(lambda d: d.update(settings={"vmsPerReplica": 500})), "a.yaml")
    b = write(
        tmp_path, {"apiVersion": "reconcile/v1", "settings": {"vmsPerReplica": 400}}, "b.yaml"
    )
    c = write(
        tmp_path, {"apiVersion": "reconcile/v1", "settings": {"vmsPerReplica": 500}}, "c.yaml"
    )
    assert "RC009" in codes(load_spec([a, b], today=TODAY))
    assert "RC009" not in codes(load_spec([a, c], today=TODAY))


def test_rc010_missing_path(tmp_path: Path) -> None:
    """A path that does not exist is RC010; an existing one is not."""
    assert codes(load_spec([tmp_path / "nope"])) == ["RC010"]
    write(tmp_path, world())
    assert "RC010" not in codes(load_spec([tmp_path], today=TODAY))


def test_every_spec_code_is_tested_and_emitted_by_a_rule_or_the_loader() -> None:
    """Each spec-phase code has a test case here, and each rule code is registered."""
    tested = set(CASES) | {"RC001", "RC002", "RC008", "RC009", "RC010"}
    spec_codes = {c for c, entry in CODES.items() if entry.phase == "spec"}
    assert spec_codes == tested
    emitted = {code for group in RULE_CODES.values() for code in group}
    assert emitted <= spec_codes
