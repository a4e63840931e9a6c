"""Pools on Azure Marketplace images: loading, one-of errors at their positions, and which
rules apply (the Batch pool rules) and which do not (the custom-image rules)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .test_errors import HEAD, POOLS, _formatted
from .world import SUB2, account, codes, gallery, image, load, pool, version, world

UBUNTU = {"publisher": "canonical", "offer": "ubuntu-24_04-lts", "sku": "server"}

Mutation = Callable[[dict[str, Any]], object]


def _market(d: dict[str, Any]) -> None:
    pool(d)["image"] = dict(UBUNTU)


@pytest.mark.parametrize(
    ("written", "version"),
    [
        ({}, "latest"),
        ({"version": "latest"}, "latest"),
        ({"version": "1.0.20261101"}, "1.0.20261101"),
    ],
)
def test_a_marketplace_pool_resolves_with_version_latest_by_default(
    tmp_path: Path, written: dict[str, str], version: str
) -> None:
    """publisher/offer/sku name the image; `version` is `latest` unless pinned; no id, no
    spec resource behind it."""
    result = load(tmp_path, world(lambda d: pool(d).update(image={**UBUNTU, **written})))
    assert not result.diagnostics
    assert result.spec is not None
    ref = result.spec.pools["pool:acct/p1"].image
    assert (ref.kind, ref.id, ref.address, ref.is_marketplace) == ("marketplace", "", None, True)
    assert ref.marketplace is not None
    assert (ref.marketplace.publisher, ref.marketplace.sku, ref.marketplace.version) == (
        "canonical",
        "server",
        version,
    )


MARKET = "image: {publisher: canonical, offer: ubuntu-24_04-lts, sku: server}"
HINT = "  hint: write one of {gallery: G, definition: D} (version optional), {managedImage: NAME}"


@pytest.mark.parametrize(
    ("image_text", "expected"),
    [
        pytest.param(
            "image: {publisher: canonical, offer: ubuntu-24_04-lts}",
            "f0.yaml:12:16: RC011 batchAccounts[0].pools[0].image: `image` refers to a "
            "Marketplace image: give publisher, offer and sku (missing: sku)",
            id="missing-sku",
        ),
        pytest.param(
            "image: {gallery: g, definition: lin, publisher: canonical}",
            "f0.yaml:12:16: RC011 batchAccounts[0].pools[0].image: `image` needs exactly one "
            "of gallery+definition, managedImage, id, publisher+offer+sku; got "
            "gallery/definition, publisher/offer/sku",
            id="gallery-and-marketplace",
        ),
        pytest.param(
            MARKET.replace("}", ", version: '24.04'}"),
            "f0.yaml:12:16: RC011 batchAccounts[0].pools[0].image: version '24.04' is neither "
            "`latest` nor X.Y.Z",
            id="two-part-version",
        ),
        pytest.param(
            MARKET.replace("sku: server", "sku: ''"),
            "f0.yaml:12:69: RC011 invalid value string '' for batchAccounts[0].pools[0].image.sku",
            id="empty-sku",
        ),
        pytest.param(
            MARKET.replace("publisher:", "publsher:"),
            "f0.yaml:12:17: RC003 unknown key 'publsher' in batchAccounts[0].pools[0].image",
            id="misspelt-publisher",
        ),
    ],
)
def test_marketplace_image_errors_are_positioned_with_a_hint(
    tmp_path: Path, image_text: str, expected: str
) -> None:
    """An incomplete, ambiguous or malformed Marketplace image is one positioned error."""
    pools = POOLS.replace("image: {gallery: g, definition: lin}", image_text)
    (out,) = _formatted(tmp_path, HEAD + pools)
    assert out.startswith(expected), out
    if "RC011 batchAccounts" in expected:
        assert HINT in out


def _then(*mutations: Mutation) -> Mutation:
    return lambda d: [m(d) for m in mutations]


def _fixed(**values: Any) -> Mutation:
    return lambda d: pool(d)["scale"]["fixed"].update(values)


# The custom-image rules: triggered by a pool on the spec's gallery image, not by the same
# pool on a Marketplace image (there are no replicas to size and no image to check).
SKIPPED: dict[str, Mutation] = {
    "RC101": _then(
        _fixed(dedicated=700), lambda d: version(d)["targetRegions"][0].update(replicas=1)
    ),
    "RC201": lambda d: image(d).update(osState="Specialized"),
    "RC202": lambda d: gallery(d).update(subscription=SUB2),
    "RC203": lambda d: account(d).update(location="eastus"),
    "RC206": lambda d: pool(d).update(nodeAgentSkuId="batch.node.windows amd64"),
}

# The Batch pool rules: they apply to a pool whatever image it boots.
APPLIED: dict[str, Mutation] = {
    "RC103": _fixed(resizeTimeout="PT14M"),
    "RC206": lambda d: pool(d).update(nodeAgentSkuId="ubuntu 24.04"),
    "RC405": lambda d: pool(d).update(vmSize="Standard_DS3_v2"),
}


@pytest.mark.parametrize("code", sorted(SKIPPED))
def test_custom_image_rules_do_not_apply_to_a_marketplace_pool(tmp_path: Path, code: str) -> None:
    """The rule fires for the pool on the gallery image and not on a Marketplace image."""
    assert code in codes(load(tmp_path / "custom", world(SKIPPED[code])))
    assert not codes(load(tmp_path / "market", world(_then(SKIPPED[code], _market))))


@pytest.mark.parametrize("code", sorted(APPLIED))
def test_batch_pool_rules_still_apply_to_a_marketplace_pool(tmp_path: Path, code: str) -> None:
    """The rule fires for a Marketplace pool as for any pool."""
    assert code in codes(load(tmp_path, world(_then(APPLIED[code], _market))))
