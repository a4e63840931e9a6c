"""ReadScope, scope_for and id-derived addresses (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.spec import ids, load_spec
from reconciler.state.model import Kind, LiveResource, LiveState
from reconciler.state.scope import (
    ReadScope,
    address_for,
    listed,
    parse_id,
    rg_id,
    scope_for,
    was_read,
)

SUB = "00000000-0000-0000-0000-000000000001"
SPECS = Path(__file__).resolve().parents[2] / "specs"


def test_addresses_match_the_spec_format() -> None:
    """address_for gives exactly the addresses reconciler.spec.ids builds, from ids alone."""
    cases = [
        (Kind.GALLERY, ids.gallery_id(SUB, "rg", "g"), ids.gallery_address("g")),
        (Kind.IMAGE, ids.image_id(SUB, "rg", "g", "d"), ids.image_address("g", "d")),
        (
            Kind.VERSION,
            ids.version_id(SUB, "rg", "g", "d", "1.2.3"),
            ids.version_address("g", "d", "1.2.3"),
        ),
        (Kind.MANAGED_IMAGE, ids.managed_image_id(SUB, "rg", "m"), ids.managed_image_address("m")),
        (Kind.BATCH_ACCOUNT, ids.batch_account_id(SUB, "rg", "a"), ids.batch_account_address("a")),
        (Kind.POOL, ids.pool_id(SUB, "rg", "a", "p"), ids.pool_address("a", "p")),
    ]
    for kind, resource_id, address in cases:
        assert address_for(kind, resource_id) == address


def test_parse_id_and_parents() -> None:
    """parse_id lower-cases and walks one level up: version → definition → gallery → group."""
    version = parse_id(ids.version_id(SUB, "RG", "G", "D", "1.0.0"))
    assert version.names == ("g", "d", "1.0.0")
    definition = parse_id(version.parent_id)
    assert definition.names == ("g", "d")
    assert parse_id(definition.parent_id).parent_id == rg_id(SUB, "rg")
    pool = parse_id(ids.pool_id(SUB, "rg", "A", "p"))
    assert pool.parent_id == ids.batch_account_id(SUB, "rg", "a").lower()
    with pytest.raises(ValueError, match="not an ARM resource id: '/not/an/id'"):
        parse_id("/not/an/id")


def test_read_scope_normalises_and_implies_groups() -> None:
    """Ids are lower-cased and de-duplicated; a named gallery implies listing its group."""
    gallery = ids.gallery_id(SUB, "RG-Images", "Gal")
    scope = ReadScope(galleries=(gallery, gallery.lower()), batch_accounts=("/A/", "/a"))
    assert scope.galleries == (gallery.lower(),)
    assert scope.gallery_groups == ((SUB, "rg-images"),)
    assert scope.batch_accounts == ("/a",)
    assert ReadScope().empty and not scope.empty


def test_with_resources_widens_to_owned_leftovers() -> None:
    """Owned resources from elsewhere (e.g. a journal) add their gallery, group or account."""
    scope = ReadScope().with_resources(
        [
            (Kind.VERSION, ids.version_id(SUB, "rg1", "g", "d", "1.0.0")),
            (Kind.MANAGED_IMAGE, ids.managed_image_id(SUB, "rg2", "m")),
            (Kind.POOL, ids.pool_id(SUB, "rg3", "acct", "p")),
        ]
    )
    assert scope.galleries == (ids.gallery_id(SUB, "rg1", "g").lower(),)
    assert scope.image_groups == ((SUB, "rg2"),)
    assert scope.batch_accounts == (ids.batch_account_id(SUB, "rg3", "acct").lower(),)
    assert scope.subscriptions == (SUB,)


def test_was_read_tells_absent_from_not_looked_at() -> None:
    """A resource is 'absent' only when the collection it lives in was listed."""
    version = ids.version_id(SUB, "rg", "g", "d", "1.0.0")
    state = LiveState(scopes=(listed("versions", parse_id(version).parent_id),))
    assert was_read(state, Kind.VERSION, version)
    assert not was_read(state, Kind.IMAGE, ids.image_id(SUB, "rg", "g", "d"))
    account = ids.batch_account_id(SUB, "rg", "a")
    assert was_read(
        LiveState(scopes=(listed("batchAccount", account),)), Kind.BATCH_ACCOUNT, account
    )


@pytest.mark.parametrize("example", ["production", "minimal", "legacy"])
def test_scope_for_example_specs(example: str) -> None:
    """scope_for covers exactly the galleries, managed-image groups and accounts an example spec names."""
    result = load_spec([SPECS / example])
    spec = result.spec
    assert spec is not None, [d.format() for d in result.diagnostics]
    scope = scope_for(spec)
    galleries = {gallery.id.lower() for gallery in spec.galleries.values()}
    image_groups = {
        (image.subscription.lower(), image.resource_group.lower())
        for image in spec.managed_images.values()
    }
    for pool in spec.pools.values():
        image = parse_id(pool.image.id)
        if pool.image.image_kind == "managedImage":
            image_groups.add((image.subscription, image.resource_group))
        else:
            gallery = ids.gallery_id(image.subscription, image.resource_group, image.names[0])
            galleries.add(gallery.lower())
    assert set(scope.galleries) == galleries
    assert set(scope.image_groups) == image_groups
    assert set(scope.batch_accounts) == {a.id.lower() for a in spec.batch_accounts.values()}


def test_children_of_a_parent_known_absent_are_absent() -> None:
    """When a gallery's group was listed and the gallery is not there, its versions are known absent."""
    version = ids.version_id(SUB, "rg", "g", "d", "1.0.0")
    state = LiveState(scopes=(listed("galleries", rg_id(SUB, "rg")),))
    assert was_read(state, Kind.VERSION, version)
    # A gallery that exists but was not walked vouches for nothing below it.
    gallery = ids.gallery_id(SUB, "rg", "g")
    present = LiveResource(
        address="gallery:g",
        kind=Kind.GALLERY,
        id=gallery.lower(),
        name="g",
        location="westeurope",
        properties={},
    )
    walked_not = LiveState(resources={"gallery:g": present}, scopes=state.scopes)
    assert not was_read(walked_not, Kind.VERSION, version)
