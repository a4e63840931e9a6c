"""The URLs the plain requests are sent to are the ones the SDK's typed operations build."""

from __future__ import annotations

from typing import Any

import pytest
from azure.mgmt.batch.operations import _operations as batch_ops
from azure.mgmt.compute.operations import _operations as compute_ops

from reconciler.azure.urls import Url, collection_url, resource_url
from reconciler.state.model import Kind
from reconciler.state.scope import ResourceId

SUB = "00000000-0000-0000-0000-000000000000"
GROUP = "rg images"  # Azure allows spaces and dots in a group's name; a URL must quote them.
NAMES = ("gal.1", "def%x", "1.0.0")  # a quoting mistake would leave `%` bare


def _rid(kind: Kind, *names: str) -> ResourceId:
    types = {
        Kind.GALLERY: ("galleries",),
        Kind.IMAGE: ("galleries", "images"),
        Kind.VERSION: ("galleries", "images", "versions"),
        Kind.MANAGED_IMAGE: ("images",),
        Kind.BATCH_ACCOUNT: ("batchaccounts",),
        Kind.POOL: ("batchaccounts", "pools"),
    }[kind]
    return ResourceId(SUB, GROUP, names, types)


def _sent(url: Url) -> str:
    return f"{url.path}?api-version={url.api_version}"


@pytest.mark.parametrize(
    ("kind", "names", "builder", "kwargs"),
    [
        (Kind.GALLERY, NAMES[:1], compute_ops.build_galleries_get_request,
         {"gallery_name": NAMES[0]}),
        (Kind.IMAGE, NAMES[:2], compute_ops.build_gallery_images_get_request,
         {"gallery_name": NAMES[0], "gallery_image_name": NAMES[1]}),
        (Kind.VERSION, NAMES, compute_ops.build_gallery_image_versions_get_request,
         {"gallery_name": NAMES[0], "gallery_image_name": NAMES[1],
          "gallery_image_version_name": NAMES[2]}),
        (Kind.MANAGED_IMAGE, NAMES[1:2], compute_ops.build_images_get_request,
         {"image_name": NAMES[1]}),
        (Kind.BATCH_ACCOUNT, NAMES[:1], batch_ops.build_batch_account_get_request,
         {"account_name": NAMES[0]}),
        (Kind.POOL, NAMES[:2], batch_ops.build_pool_get_request,
         {"account_name": NAMES[0], "pool_name": NAMES[1]}),
    ],
    ids=lambda v: v.value if isinstance(v, Kind) else None,
)  # fmt: skip
def test_a_resource_url_is_the_typed_get(
    kind: Kind, names: tuple[str, ...], builder: Any, kwargs: dict[str, Any]
) -> None:
    """One resource's URL and api-version are those of the SDK's typed get for its kind."""
    request = builder(resource_group_name=GROUP, subscription_id=SUB, **kwargs)
    assert _sent(resource_url(kind, _rid(kind, *names))) == request.url


@pytest.mark.parametrize(
    ("kind", "parents", "builder", "kwargs"),
    [
        (Kind.GALLERY, (), compute_ops.build_galleries_list_by_resource_group_request, {}),
        (Kind.IMAGE, NAMES[:1], compute_ops.build_gallery_images_list_by_gallery_request,
         {"gallery_name": NAMES[0]}),
        (Kind.VERSION, NAMES[:2],
         compute_ops.build_gallery_image_versions_list_by_gallery_image_request,
         {"gallery_name": NAMES[0], "gallery_image_name": NAMES[1]}),
        (Kind.MANAGED_IMAGE, (), compute_ops.build_images_list_by_resource_group_request, {}),
        (Kind.POOL, NAMES[:1], batch_ops.build_pool_list_by_batch_account_request,
         {"account_name": NAMES[0]}),
    ],
    ids=lambda v: v.value if isinstance(v, Kind) else None,
)  # fmt: skip
def test_a_collection_url_is_the_typed_list(
    kind: Kind, parents: tuple[str, ...], builder: Any, kwargs: dict[str, Any]
) -> None:
    """A collection's URL and api-version are those of the SDK's typed list of its kind."""
    request = builder(resource_group_name=GROUP, subscription_id=SUB, **kwargs)
    assert _sent(collection_url(kind, SUB, GROUP, *parents)) == request.url


def test_a_collection_with_the_wrong_parents_is_refused() -> None:
    """Naming a pool collection without its account is a programming error, said at once."""
    with pytest.raises(ValueError, match="1 parent"):
        collection_url(Kind.POOL, SUB, GROUP)
