"""A pool moves between a custom image and a Marketplace image through the real SDK.

specs/minimal's pool is applied on its gallery image; its deployment configuration gets a
member the spec does not declare (node placement, set through the SDK). The spec then
names a Marketplace image: the plan is an update at zero nodes (U12), not a replacement;
apply sends the image reference whole (publisher/offer/sku/version, no id), keeps the
undeclared member, and the next plan is empty. Back to the gallery image, likewise.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.plan import Action
from tests.e2e.test_apply_e2e import SUB, World, minimal_text
from tests.e2e.test_apply_e2e import _clean_env as _clean_env  # autouse: secrets, no env sandbox

GALLERY_IMAGE = "image: {gallery: minimalgallery, definition: minimal-ubuntu}"
MARKETPLACE = "image: {publisher: canonical, offer: ubuntu-24_04-lts, sku: server}"


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path / "world.sqlite")
    yield w
    w.close()


def _spec(tmp_path: Path, name: str, *, image: str, dedicated: int) -> Path:
    text = minimal_text().replace(GALLERY_IMAGE, image)
    text = text.replace("fixed: {dedicated: 2}", f"fixed: {{dedicated: {dedicated}}}")
    folder = tmp_path / name
    folder.mkdir()
    (folder / "spec.yaml").write_text(text)
    return folder


def _reference(world: World) -> dict[str, object]:
    pool = world.clients.batch(SUB).pool.get("rg-batch", "batchprodweu", "minimal")
    vmc = pool.deployment_configuration.virtual_machine_configuration
    return {
        "reference": {k: v for k, v in vmc.image_reference.as_dict().items() if v is not None},
        "placement": vmc.node_placement_configuration.policy,
        "created": pool.creation_time,
        "nodes": pool.current_dedicated_nodes,
    }


def test_a_pool_moves_to_a_marketplace_image_and_back_at_zero_nodes(
    world: World, tmp_path: Path
) -> None:
    """Custom → Marketplace → custom: at-zero-nodes updates of the same pool, the image
    reference sent whole, an undeclared member kept, and no change left after each."""
    start = _spec(tmp_path, "start", image=GALLERY_IMAGE, dedicated=0)
    result = world.apply(world.plan(start))
    assert result.ok, [(o.address, o.error) for o in result.failed]
    pools = world.clients.batch(SUB).pool
    pool = pools.get("rg-batch", "batchprodweu", "minimal")
    gallery_id = pool.deployment_configuration.virtual_machine_configuration.image_reference.id
    # Undeclared: set by hand, where the image lives (deploymentConfiguration).
    deployment = pool.deployment_configuration.as_dict()
    deployment["virtualMachineConfiguration"]["nodePlacementConfiguration"] = {"policy": "Regional"}
    pools.update(
        "rg-batch",
        "batchprodweu",
        "minimal",
        {"properties": {"deploymentConfiguration": deployment}},
    )
    before = _reference(world)

    market = _spec(tmp_path, "market", image=MARKETPLACE, dedicated=2)
    plan = world.plan(market)
    assert not plan.errors, [d.message for d in plan.errors]
    (change,) = [c for c in plan.actionable if c.address == "pool:batchprodweu/minimal"]
    assert change.action is Action.UPDATE  # the pool is at 0 nodes: no scale-down needed
    # The image reference whole (the gallery id out, the Marketplace members in), and the size.
    image = {"image.id", "image.publisher", "image.offer", "image.sku"}
    assert set(change.changed_paths) == image | {"scale.fixed.dedicated"}
    result = world.apply(plan)
    assert result.ok, [(o.address, o.error) for o in result.failed]
    after = _reference(world)
    assert after["reference"] == {
        "publisher": "canonical",
        "offer": "ubuntu-24_04-lts",
        "sku": "server",
        "version": "latest",
    }
    assert after["placement"] == "Regional"  # the undeclared member is kept
    assert after["created"] == before["created"]  # the same pool, not a replacement
    assert after["nodes"] == 2
    assert world.plan(market).actionable == ()

    back = _spec(tmp_path, "back", image=GALLERY_IMAGE, dedicated=2)
    plan = world.plan(back)
    steps = [c for c in plan.actionable if c.address == "pool:batchprodweu/minimal"]
    # 2 nodes: down, the image moved at zero, back.
    assert {c.action for c in steps} == {Action.SCALE_TO_ZERO_UPDATE}
    assert [(c.step, set(c.changed_paths)) for c in steps] == [
        ("scale-down", {"scale.fixed.dedicated"}),
        ("update-at-zero", image),
        ("scale-back", {"scale.fixed.dedicated"}),
    ]
    result = world.apply(plan, allow_disruptive=True)
    assert result.ok, [(o.address, o.error) for o in result.failed]
    again = _reference(world)
    assert again["reference"] == {"id": gallery_id}
    assert again["placement"] == "Regional"
    assert again["created"] == before["created"]
    assert world.plan(back).actionable == ()
