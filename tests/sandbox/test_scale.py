"""The sandbox at scale: the pools-by-image index, lazily rendered pages, and seeds that
declare galleries, definitions, versions and pools."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from reconciler.sandbox.arm import Effects, World, is_alive, region_key, same
from reconciler.sandbox.batch import T_POOL, _version_demand, image_id_of, targets_of
from reconciler.sandbox.seed import expand, load_seed
from reconciler.sandbox.store import Store
from tests.sandbox.conftest import (
    ACCOUNT,
    ACCOUNT_EUS,
    MANAGED_IMAGE,
    RG_BATCH,
    RG_IMAGES,
    SUB,
    batch_client,
    begin_frozen_version,
    compute_client,
    pool_body,
)

ACCOUNTS = f"/subscriptions/{SUB}/resourceGroups/{RG_BATCH}/providers/Microsoft.Batch/batchAccounts"


def scanned_demand(world: World, image_id: str, region: str, pool_id: str, own: int) -> int:
    """The demand as a scan of every pool computes it (the definition the index must match)."""
    demand = own
    for pool in world.tx.of_type(T_POOL):
        if not is_alive(world, pool) or pool["id"].lower() == pool_id.lower():
            continue
        if not same(image_id_of(pool["properties"]) or "", image_id):
            continue
        account = world.tx.get(pool["_sys"]["account"])
        if account is not None and region_key(account["location"]) == region_key(region):
            demand += sum(targets_of(pool["properties"]))
    return demand


def demands(sandbox: Sandbox, image: str) -> list[tuple[int, int]]:
    """(indexed, scanned) demand for every (region, excluded pool) pair of the world."""
    now = sandbox.now()
    out = []
    with sandbox.store.transaction() as tx:
        world = World(tx, now, sandbox.config, Effects())
        pools = [p["id"] for p in tx.of_type(T_POOL)] + ["/no/such/pool"]
        for region in ("westeurope", "eastus", "northeurope"):
            for pool_id in pools:
                out.append(
                    (
                        _version_demand(world, image, region, pool_id, 7),
                        scanned_demand(world, image, region, pool_id, 7),
                    )
                )
    return out


def test_version_demand_from_the_index_equals_a_scan_of_every_pool(frozen: Sandbox):
    """Nv from the pools-by-image index matches a scan through creates, updates and deletes."""
    poller = begin_frozen_version(frozen, {"westeurope": 2, "eastus": 1})
    frozen.advance(4 * 3600)
    image = poller.result().id
    batch = batch_client(frozen)
    batch.pool.create(RG_BATCH, ACCOUNT, "a", pool_body(image, 100))
    batch.pool.create(RG_BATCH, ACCOUNT, "b", pool_body(image.upper(), 50))  # ids compare
    batch.pool.create(RG_BATCH, ACCOUNT_EUS, "c", pool_body(image, 70))  # another region
    batch.pool.create(RG_BATCH, ACCOUNT, "m", pool_body(MANAGED_IMAGE, 10))  # another image
    auto = pool_body(image)
    auto["properties"]["scaleSettings"] = {
        "autoScale": {"formula": "$TargetDedicatedNodes=30;", "evaluationInterval": "PT5M"}
    }
    batch.pool.create(RG_BATCH, ACCOUNT, "d", auto)
    batch.pool.create(RG_BATCH, ACCOUNT, "e", pool_body(image, 40))
    batch.pool.create(RG_BATCH, ACCOUNT, "f", pool_body(image, 20))
    frozen.advance(3600)
    batch.pool.update(RG_BATCH, ACCOUNT, "e", pool_body(image, 80))
    before = demands(frozen, image)
    assert all(indexed == scanned for indexed, scanned in before)
    assert (7 + 100 + 50 + 30 + 80 + 20, 7 + 100 + 50 + 30 + 80 + 20) in before

    batch.pool.begin_delete(RG_BATCH, ACCOUNT, "f")  # counts until the deletion ends
    deleting = demands(frozen, image)
    assert deleting == before
    frozen.advance(3600)
    gone = demands(frozen, image)
    assert all(indexed == scanned for indexed, scanned in gone)
    assert gone != before


def test_an_older_world_gets_the_pool_index_filled_from_its_pools(frozen: Sandbox):
    """A world made before the pools-by-image index gets it built from the pools it holds."""
    poller = begin_frozen_version(frozen, {"westeurope": 1})
    frozen.advance(4 * 3600)
    image = poller.result().id
    batch = batch_client(frozen)
    for name, nodes in (("a", 10), ("b", 20)):
        batch.pool.create(RG_BATCH, ACCOUNT, name, pool_body(image, nodes))
    frozen.close()
    with sqlite3.connect(frozen.path) as conn:  # as an older version left the file
        for trigger in ("pool_images_put", "pool_images_delete"):
            conn.execute(f"DROP TRIGGER {trigger}")
        conn.execute("DROP TABLE pool_images")
        conn.execute("DROP TABLE pool_demand")
    reopened = Sandbox(frozen.path, config=frozen.config)
    assert all(indexed == scanned for indexed, scanned in demands(reopened, image))
    assert (37, 37) in demands(reopened, image)
    reopened.close()


def test_a_listing_renders_only_the_page_it_answers(sandbox: Sandbox, monkeypatch):
    """Each page of a list renders its own items, not every item of the collection."""
    from reconciler.sandbox import batch as batch_module

    compute = compute_client(sandbox)
    compute.galleries.begin_create_or_update(RG_IMAGES, "g", {"location": "westeurope"}).result()
    batch = batch_client(sandbox)
    for p in range(9):
        batch.pool.create(RG_BATCH, ACCOUNT, f"p{p}", pool_body(MANAGED_IMAGE))
    rendered: list[str] = []
    original = batch_module.RENDERERS[T_POOL.lower()]

    def counting(world: World, doc: dict[str, Any], call: Any) -> dict[str, Any]:
        rendered.append(doc["name"])
        return original(world, doc, call)

    monkeypatch.setitem(batch_module.RENDERERS, T_POOL.lower(), counting)
    names = [p.name for p in batch.pool.list_by_batch_account(RG_BATCH, ACCOUNT)]
    assert sorted(names) == [f"p{p}" for p in range(9)]  # pages of 2 (FAST)
    assert sorted(rendered) == sorted(names)


@pytest.mark.parametrize(
    ("entries", "names", "expected"),
    [
        ([{"name": "g"}], {}, [{"name": "g"}]),
        ([{"name": "def{i}", "count": 3}], {}, [{"name": f"def{i}"} for i in range(3)]),
        (
            [{"name": "p{i}", "count": 2, "image": "/g/{gallery}/v/1.0.{i}"}],
            {"gallery": "gal7"},
            [
                {"name": "p0", "image": "/g/gal7/v/1.0.0"},
                {"name": "p1", "image": "/g/gal7/v/1.0.1"},
            ],
        ),
        (  # children keep their own {i}: they are expanded at their own level
            [{"name": "d{i}", "count": 2, "versions": [{"name": "1.0.{i}", "count": 2}]}],
            {},
            [
                {"name": "d0", "versions": [{"name": "1.0.{i}", "count": 2}]},
                {"name": "d1", "versions": [{"name": "1.0.{i}", "count": 2}]},
            ],
        ),
    ],
)
def test_seed_count_expands_entries(
    entries: list[dict[str, Any]], names: dict[str, str], expected: list[dict[str, Any]]
):
    """`count: N` stands for N entries with `{i}` and the enclosing names filled in."""
    assert expand(entries, **names) == expected


def estate_seed(galleries: int, definitions: int, versions: int, pools: int) -> dict[str, Any]:
    """The default seed plus a generated estate declared with `count`."""
    data = load_seed()
    images, batch_group = data["subscriptions"][0]["resourceGroups"][:2]
    images["galleries"] = [
        {
            "name": "gal{i}",
            "count": galleries,
            "tags": {"managed-by": "reconcile"},
            "images": [
                {
                    "name": "def{i}",
                    "count": definitions,
                    "identifier": {"publisher": "bench", "offer": "{gallery}", "sku": "{i}"},
                    "versions": [
                        {
                            "name": "1.0.{i}",
                            "count": versions,
                            "source": MANAGED_IMAGE,
                            "targetRegions": [
                                {"name": "westeurope", "replicas": 2},
                                {"name": "eastus"},
                            ],
                        }
                    ],
                }
            ],
        }
    ]
    version = f"{images_id()}/galleries/gal0/images/def0/versions/1.0.0"
    batch_group["batchAccounts"][0]["pools"] = [
        {"name": "pool{i}", "count": pools, "image": version, "dedicated": 4, "tags": {"t": "{i}"}}
    ]
    return data


def images_id() -> str:
    return f"/subscriptions/{SUB}/resourceGroups/{RG_IMAGES}/providers/Microsoft.Compute"


def test_seed_declares_a_settled_estate(make_sandbox: Callable[..., Sandbox]):
    """Seeded galleries, definitions, versions and pools are as the API makes them, settled."""
    sandbox = make_sandbox()
    sandbox.seed(estate_seed(galleries=2, definitions=3, versions=2, pools=5))
    compute = compute_client(sandbox)
    galleries = list(compute.galleries.list_by_resource_group(RG_IMAGES))
    assert sorted(g.name for g in galleries) == ["gal0", "gal1"]
    assert galleries[0].tags == {"managed-by": "reconcile"}
    definitions = list(compute.gallery_images.list_by_gallery(RG_IMAGES, "gal1"))
    assert sorted(d.identifier.sku for d in definitions) == ["0", "1", "2"]
    assert {d.identifier.offer for d in definitions} == {"gal1"}
    version = compute.gallery_image_versions.get(
        RG_IMAGES, "gal1", "def2", "1.0.1", expand="ReplicationStatus"
    )
    assert version.provisioning_state == "Succeeded"
    assert version.replication_status.aggregated_state == "Completed"
    regions = {r.name: r.regional_replica_count for r in version.publishing_profile.target_regions}
    assert regions == {"West Europe": 2, "East US": 1}  # Azure answers display names
    pools = list(batch_client(sandbox).pool.list_by_batch_account(RG_BATCH, ACCOUNT))
    assert sorted(p.name for p in pools) == [f"pool{i}" for i in range(5)]
    assert {(p.allocation_state, p.current_dedicated_nodes) for p in pools} == {("Steady", 4)}
    assert {p.tags["t"] for p in pools} == {str(i) for i in range(5)}
    with sandbox.store.transaction() as tx:
        assert tx.operation_ids() == []  # nothing left for anyone to poll


def test_seed_refuses_what_the_api_refuses(make_sandbox: Callable[..., Sandbox]):
    """A seeded version whose source does not exist fails with the API's reason and its path."""
    sandbox = make_sandbox()
    data = estate_seed(galleries=1, definitions=1, versions=1, pools=0)
    versions = data["subscriptions"][0]["resourceGroups"][0]["galleries"][0]["images"][0]
    versions["versions"][0]["source"] = f"{images_id()}/images/missing"
    with pytest.raises(ValueError, match=r"versions/1\.0\.0: .*was not found"):
        sandbox.seed(data)


def test_store_opens_an_existing_world_without_rebuilding_the_index(tmp_path):
    """The pools-by-image index is built once per file, not on every open."""
    Store(tmp_path / "w.sqlite").close()
    with sqlite3.connect(tmp_path / "w.sqlite") as conn:
        conn.execute(
            "INSERT INTO pool_images(id, parent, image, targets, autoscale) "
            "VALUES ('x', 'p', 'i', 5, 0)"
        )
    Store(tmp_path / "w.sqlite").close()
    with sqlite3.connect(tmp_path / "w.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM pool_images").fetchone() == (1,)
