"""Every writable member of the five kinds, written in a spec, converges through the real SDK.

For each kind a resource is declared with the friendly keys it needs and, under Azure's
own names (``properties:``, ``identity:``, ``extendedLocation:``), a value for every other
writable leaf of the committed field table (the body of the sandbox's own surface test,
`tests.sandbox.test_surface_roundtrip`). Secrets are ``${env:NAME}`` references. The spec
is planned (every resource created), applied through the SDK clients against the sandbox,
read back, and planned again: no change. A source is one of several kinds, so one more
version and managed image per other source kind is declared, and a leaf counted as a
friendly key's must be in what Azure answers for one of them; likewise a second pool boots
a Marketplace image (the image reference's other members; the first pool keeps its gallery
image). The test reports how many of the table's leaves the spec wrote, under which name
(Azure's, or a friendly key's), and pins the counts: every leaf is expressible.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.apply import ExecutorSettings, RetryPolicy, apply_plan
from reconciler.azure import AzureOperations, Target, read_live_state
from reconciler.openapi.surface import writable_fields
from reconciler.plan import Action, make_plan
from reconciler.sandbox.config import SandboxConfig
from reconciler.spec import load_spec
from reconciler.state import surface
from reconciler.state.model import Kind
from reconciler.state.scope import scope_for
from reconciler.wiring import azure_clients
from tests.sandbox.test_surface_roundtrip import NOT_SENT, OVERRIDES, _body, _get_path
from tests.support.sources import IMAGE_SOURCES, VERSION_SOURCES
from tests.support.worlds import seeded_world

SUB = "00000000-0000-0000-0000-000000000001"
COMPUTE = f"/subscriptions/{SUB}/resourceGroups/rg-images/providers/Microsoft.Compute"
FAST = ExecutorSettings(poll_interval=0.02, retry=RetryPolicy(initial=0.05, maximum=1.0))

# The Marketplace members of a pool's image reference: the first pool keeps its gallery
# image, so a second pool (`market`) writes these through the friendly `image` key.
_IMAGE_REFERENCE = "properties.deploymentConfiguration.virtualMachineConfiguration.imageReference"
MARKETPLACE: dict[str, str] = {
    f"{_IMAGE_REFERENCE}.publisher": "canonical",
    f"{_IMAGE_REFERENCE}.offer": "ubuntu-24_04-lts",
    f"{_IMAGE_REFERENCE}.sku": "server",
    f"{_IMAGE_REFERENCE}.version": "1.0.20261101",
}

MARKET_POOL = "pool:batchprodweu/market"

KINDS = {
    Kind.GALLERY: "gallery:surfacegallery",
    Kind.IMAGE: "image:surfacegallery/surface",
    Kind.VERSION: "version:surfacegallery/surface/1.0.0",
    Kind.MANAGED_IMAGE: "managedImage:img-surface",
    Kind.POOL: "pool:batchprodweu/surface",
}

# A source is one of several kinds: the resource above writes snapshots; these write each
# other kind, so that every leaf a friendly `source` owns is written by some resource.
OTHER_VERSION_SOURCES: dict[str, dict[str, Any]] = {
    f"1.0.{n}": source for n, source in enumerate(VERSION_SOURCES.values(), start=1)
}
OTHER_IMAGE_SOURCES: dict[str, dict[str, Any]] = {
    f"img-surface-{kind}": source for kind, source in IMAGE_SOURCES.items()
}
OTHERS = {
    *(f"version:surfacegallery/surface/{name}" for name in OTHER_VERSION_SOURCES),
    *(f"managedImage:{name}" for name in OTHER_IMAGE_SOURCES),
}


# The friendly keys `_spec` writes per kind: the paths they own are theirs.
FRIENDLY: dict[Kind, frozenset[str]] = {
    Kind.GALLERY: frozenset(),
    Kind.IMAGE: frozenset({"osType", "osState", "identifier"}),
    Kind.VERSION: frozenset({"source", "targetRegions"}),
    Kind.MANAGED_IMAGE: frozenset({"osType", "source"}),
    Kind.POOL: frozenset({"vmSize", "image", "nodeAgentSkuId", "scale"}),
}

REGION: dict[str, Any] = {}


def _members(kind: Kind) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """The Azure-named blocks for `kind`, the leaves they write, and the secrets' values."""
    skind = surface.SURFACE_KINDS[kind]
    body = _body(skind, NOT_SENT[skind])
    OVERRIDES[skind](body, f"{COMPUTE}/galleries/surfacegallery/images/surface/versions/1.0.0")
    _consistent(kind, body)
    if kind is Kind.VERSION:
        # A region's members besides its name, count and storage type ride on the
        # friendly `targetRegions` entry, under Azure's names.
        (region,) = body["properties"]["publishingProfile"]["targetRegions"]
        REGION.clear()
        REGION.update(
            copy.deepcopy({k: v for k, v in region.items() if k in surface.REGION_MEMBERS})
        )
    written: list[str] = []
    secrets: dict[str, str] = {}
    for field in writable_fields(skind):
        value = _get_path(body, field.path)
        if value is None:
            continue
        owner = surface.owner_of(kind, field.path)
        owned = owner is not None and (owner[1] or owner[0].split(".")[0] in FRIENDLY[kind])
        if field.path[0] in ("location", "tags") or owned:
            _drop(body, field.path)
            continue
        if field.secret:
            name = "SURFACE_SECRET_" + str(len(secrets))
            secrets[name] = '{"k": "v"}' if field.type == "object" else "s3cret"
            _put(body, field.path, f"${{env:{name}}}")
        written.append(field.dotted)
    body = _pruned(body)
    blocks = {root: body[root] for root in surface.roots(kind) if body.get(root)}
    return blocks, written, secrets


def _pruned(value: Any) -> Any:
    """`value` without the objects and lists left empty by the leaves taken out (an empty
    one in a spec means "ensure absent")."""
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        # A user-assigned identity's entry is `{}` by design: it is not an emptied object.
        return {k: v for k, v in out.items() if v not in ({}, []) or k.startswith("/")}
    if isinstance(value, list):
        items = [_pruned(v) for v in value]
        return [v for v in items if v not in ({}, [])]
    return value


def _consistent(kind: Kind, body: dict[str, Any]) -> None:
    """Values the cross-resource rules check, made to agree: every identityReference names
    the pool's identity (RC230); the definition allows the pool's Trusted Launch (RC231);
    a region encrypts a data disk the version has (RC232)."""
    if kind is Kind.POOL:
        (identity,) = body["identity"]["userAssignedIdentities"]
        for field in writable_fields(surface.SURFACE_KINDS[kind]):
            if field.path[-2:] == ("identityReference", "resourceId"):
                _put(body, field.path, identity)
    if kind is Kind.VERSION:
        # A region encrypts the data disk the source has (RC232): lun 0.
        (region,) = body["properties"]["publishingProfile"]["targetRegions"]
        region["encryption"]["dataDiskImages"][0]["lun"] = 0
        (extended,) = body["properties"]["publishingProfile"]["targetExtendedLocations"]
        extended["encryption"]["dataDiskImages"][0]["lun"] = 0
    if kind is Kind.IMAGE:
        feature = {"name": "SecurityType", "value": "TrustedLaunchAndConfidentialVmSupported"}
        body["properties"]["features"][0].update(feature)
        body["properties"]["hyperVGeneration"] = "V2"


def _drop(body: Any, path: tuple[str, ...]) -> None:
    node = body
    for part in path[:-1]:
        node = node[0] if part == "[]" else node.get(part)
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _put(body: Any, path: tuple[str, ...], value: Any) -> None:
    node = body
    for part in path[:-1]:
        node = node[0] if part == "[]" else node[part]
    node[path[-1]] = value


def _spec(blocks: dict[Kind, dict[str, Any]]) -> dict[str, Any]:
    snapshots = f"{COMPUTE}/snapshots"
    version = {
        "name": "1.0.0",
        "source": {
            "snapshots": {
                "osDisk": f"{snapshots}/snap-render-os-2026-10",
                "dataDisks": [{"lun": 0, "snapshot": f"{snapshots}/snap-render-data0-2026-10"}],
            }
        },
        "targetRegions": [{"name": "westeurope", **REGION}],
        **blocks[Kind.VERSION],
    }
    others = [
        # Out of `latest`, so the pool keeps booting 1.0.0.
        {"name": name, "source": source, "excludeFromLatest": True}
        for name, source in OTHER_VERSION_SOURCES.items()
    ]
    image = {
        "name": "surface",
        "osType": "Linux",
        "osState": "Generalized",
        "identifier": {"publisher": "contoso", "offer": "surface", "sku": "all"},
        "versions": [version, *others],
        **blocks[Kind.IMAGE],
    }
    return {
        "apiVersion": "reconcile/v1",
        "settings": {"owner": "surface"},
        "defaults": {"subscription": SUB, "resourceGroup": "rg-images", "location": "westeurope"},
        "galleries": [{"name": "surfacegallery", "images": [image], **blocks[Kind.GALLERY]}],
        "managedImages": [
            {
                "name": "img-surface",
                "osType": "Linux",
                "source": {
                    "osDiskSnapshot": f"{snapshots}/snap-render-os-2026-10",
                    "dataDiskSnapshots": [
                        {"lun": 0, "snapshot": f"{snapshots}/snap-render-data0-2026-10"}
                    ],
                },
                **blocks[Kind.MANAGED_IMAGE],
            },
            *(
                {"name": name, "osType": "Linux", "source": source}
                for name, source in OTHER_IMAGE_SOURCES.items()
            ),
        ],
        "batchAccounts": [
            {
                "name": "batchprodweu",
                "resourceGroup": "rg-batch",
                "pools": [
                    {
                        "name": "surface",
                        "vmSize": "Standard_D4s_v5",
                        "image": {"gallery": "surfacegallery", "definition": "surface"},
                        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                        "scale": {"fixed": {"dedicated": 0}},
                        **blocks[Kind.POOL],
                    },
                    {
                        # A build pool on a Marketplace image: the image reference's
                        # publisher/offer/sku/version, through the friendly `image` key.
                        "name": "market",
                        "vmSize": "Standard_D2s_v5",
                        "image": {path.rsplit(".", 1)[1]: v for path, v in MARKETPLACE.items()},
                        "nodeAgentSkuId": "batch.node.ubuntu 24.04",
                        "scale": {"fixed": {"dedicated": 0}},
                    },
                ],
            }
        ],
    }


def rest_pool(clients: Any, name: str) -> dict[str, Any]:
    """Pool `name` of the account as Azure's REST body (read through the SDK client)."""
    pool = clients.batch(SUB).pool.get("rg-batch", "batchprodweu", name)
    body: dict[str, Any] = pool.as_dict()
    return body


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Target]:
    path = tmp_path / "world.sqlite"
    config = SandboxConfig(speed=20000.0)
    seeded_world(path, config)
    yield Target.for_sandbox(path, config=config)


def test_every_writable_member_round_trips_through_a_spec(
    world: Target, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spec writing every expressible leaf plans, applies and plans again with no change."""
    blocks: dict[Kind, dict[str, Any]] = {}
    written: dict[Kind, list[str]] = {}
    for kind in KINDS:
        blocks[kind], written[kind], secrets = _members(kind)
        for name, value in secrets.items():
            monkeypatch.setenv(name, value)
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "spec.yaml").write_text(yaml.safe_dump(_spec(blocks), sort_keys=False))
    loaded = load_spec([str(spec_dir)])
    spec = loaded.spec
    assert spec is not None, [d.format() for d in loaded.diagnostics]
    with azure_clients(world) as clients:
        live = read_live_state(clients, scope_for(spec))
        plan = make_plan(spec, live, target=world.describe())
        assert not plan.errors, [d.format() for d in plan.errors]
        created = {c.address for c in plan.changes if c.action is Action.CREATE}
        assert created == {*KINDS.values(), MARKET_POOL} | OTHERS
        result = apply_plan(plan, AzureOperations(clients), settings=FAST, environ=os.environ)
        assert result.ok, [(o.change_id, o.error) for o in result.failed]
        market = rest_pool(clients, "market")
        again = make_plan(spec, read_live_state(clients, scope_for(spec)), target=world.describe())
        answered = _answered(clients)
    assert [c.address for c in again.changes if c.action is not Action.NOOP] == []
    report = []
    table: dict[Kind, int] = {}
    for kind in KINDS:
        fields = writable_fields(surface.SURFACE_KINDS[kind])
        table[kind] = len(fields)
        if kind is Kind.POOL:
            # The Marketplace leaves, written on the second pool: each read back as sent.
            read = {path: _get_path(market, tuple(path.split("."))) for path in MARKETPLACE}
            assert read == MARKETPLACE
        friendly = [f for f in fields if f.dotted not in written[kind]]
        # Whatever is not written under Azure's names is a friendly key's.
        assert all(
            f.path[0] in ("location", "tags") or surface.owner_of(kind, f.path) is not None
            for f in friendly
        ), [f.dotted for f in friendly]
        if kind in answered:
            # A friendly key's leaf counts only if some resource of the spec wrote it.
            unwritten = [
                f.dotted
                for f in friendly
                if all(_get_path(body, f.path) is None for body in answered[kind])
            ]
            assert unwritten == [], (kind, unwritten)
        report.append(
            f"{kind.value}: {len(written[kind])} under Azure's names + {len(friendly)} owned "
            f"by friendly keys, of {len(fields)}"
        )
    write_only = [".".join(p) for k in KINDS for p in sorted(surface.WRITE_ONLY.get(k, ()))]
    report.append(f"written, never answered by Azure (write-only): {', '.join(write_only)}")
    print("\n".join(report))
    # The table's leaves per kind (279), and how many the spec writes under Azure's names
    # (215; the rest are friendly keys'), pinned: a change here is a decision, not an accident.
    assert table == {
        Kind.GALLERY: 13,
        Kind.IMAGE: 26,
        Kind.VERSION: 61,
        Kind.MANAGED_IMAGE: 24,
        Kind.POOL: 155,
    }
    assert {k: len(written[k]) for k in KINDS} == {
        Kind.GALLERY: 11,
        Kind.IMAGE: 19,
        Kind.VERSION: 35,
        Kind.MANAGED_IMAGE: 13,
        Kind.POOL: 137,
    }


def _answered(clients: Any) -> dict[Kind, list[dict[str, Any]]]:
    """What Azure answers for every version and managed image the spec made, as REST JSON."""
    compute = clients.compute(SUB)
    versions = ["1.0.0", *OTHER_VERSION_SOURCES]
    images = ["img-surface", *OTHER_IMAGE_SOURCES]
    return {
        Kind.VERSION: [
            compute.gallery_image_versions.get(
                "rg-images", "surfacegallery", "surface", name
            ).as_dict()
            for name in versions
        ],
        Kind.MANAGED_IMAGE: [compute.images.get("rg-images", name).as_dict() for name in images],
    }


@pytest.mark.parametrize(
    ("image", "member"),
    [
        ("/SharedGalleries/contoso-1a2b3c/Images/render/Versions/1.0.0", "shared_gallery_image_id"),
        (
            "/CommunityGalleries/contoso-5678/Images/render/Versions/1.0.0",
            "community_gallery_image_id",
        ),
    ],
)
def test_a_pool_boots_a_shared_or_community_gallery_image(
    world: Target, tmp_path: Path, image: str, member: str
) -> None:
    """`image.id` of a shared or community gallery goes in its own imageReference member."""
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    spec = {
        "apiVersion": "reconcile/v1",
        "defaults": {"subscription": SUB, "resourceGroup": "rg-batch", "location": "westeurope"},
        "batchAccounts": [
            {
                "name": "batchprodweu",
                "pools": [
                    {
                        "name": "shared",
                        "vmSize": "Standard_D2s_v5",
                        "image": {"id": image},
                        "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                        "scale": {"fixed": {"dedicated": 1}},
                    }
                ],
            }
        ],
    }
    (spec_dir / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    loaded = load_spec([str(spec_dir)])
    assert loaded.spec is not None, [d.format() for d in loaded.diagnostics]
    with azure_clients(world) as clients:
        plan = make_plan(
            loaded.spec, read_live_state(clients, scope_for(loaded.spec)), target=world.describe()
        )
        assert not plan.errors, [d.format() for d in plan.errors]
        result = apply_plan(plan, AzureOperations(clients), settings=FAST)
        assert result.ok, [(o.change_id, o.error) for o in result.failed]
        pool = clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "shared")
        reference = pool.deployment_configuration.virtual_machine_configuration.image_reference
        assert getattr(reference, member) == image and reference.id is None
        again = make_plan(
            loaded.spec, read_live_state(clients, scope_for(loaded.spec)), target=world.describe()
        )
    assert [c.address for c in again.changes if c.action is not Action.NOOP] == []
