"""ARM request paths: the one place that spells the URL of a resource or a collection.

Reads (`reconciler.azure.read`), the writes' GETs and pool PUT
(`reconciler.azure.operations`) and export's scope check send plain requests on the SDK's
pipeline; each asks here for the path and api-version the generated client's typed
operation would use. Every name is quoted as the SDK quotes a path parameter (nothing is
safe), so a name Azure allows but a URL does not reads the same in every request.
`tests/azure/test_urls.py` compares each path with the one the SDK's operation sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import quote

from reconciler.azure.arm import API_VERSIONS
from reconciler.state.model import Kind
from reconciler.state.scope import ResourceId, resource_group_id

GALLERY_API = API_VERSIONS["Microsoft.Compute/galleries"]  # galleries, definitions, versions
IMAGES_API = API_VERSIONS["Microsoft.Compute/images"]  # managed images
BATCH_API = API_VERSIONS["Microsoft.Batch/batchAccounts"]  # Batch accounts and pools


class Url(NamedTuple):
    """A request's path below the ARM endpoint and the api-version it is sent with."""

    path: str
    api_version: str


# Each kind's path below its resource group (one `{}` per name, outermost first) and the
# api-version of the operations that read and write it.
_PATHS: Mapping[Kind, tuple[str, str]] = {
    Kind.GALLERY: ("Microsoft.Compute/galleries/{}", GALLERY_API),
    Kind.IMAGE: ("Microsoft.Compute/galleries/{}/images/{}", GALLERY_API),
    Kind.VERSION: ("Microsoft.Compute/galleries/{}/images/{}/versions/{}", GALLERY_API),
    Kind.MANAGED_IMAGE: ("Microsoft.Compute/images/{}", IMAGES_API),
    Kind.BATCH_ACCOUNT: ("Microsoft.Batch/batchAccounts/{}", BATCH_API),
    Kind.POOL: ("Microsoft.Batch/batchAccounts/{}/pools/{}", BATCH_API),
}


def _q(name: str) -> str:
    return quote(name, safe="")


def group_path(subscription: str, resource_group: str) -> str:
    """A resource group's path, each name quoted."""
    return resource_group_id(_q(subscription), _q(resource_group))


def resource_url(kind: Kind, rid: ResourceId) -> Url:
    """The URL of one resource: what the typed ``get`` / ``create_or_update`` sends."""
    template, api_version = _PATHS[kind]
    names = template.format(*(_q(n) for n in rid.names))
    return Url(f"{group_path(rid.subscription, rid.resource_group)}/providers/{names}", api_version)


def collection_url(kind: Kind, subscription: str, resource_group: str, *parents: str) -> Url:
    """The URL listing `kind` under its parents' names (none for a group's galleries or
    managed images): what the typed ``list_by_*`` sends."""
    template, api_version = _PATHS[kind]
    if template.count("{}") != len(parents) + 1:
        raise ValueError(f"a {kind.value} collection has {template.count('{}') - 1} parent(s)")
    # The kind's path without its own `/{}`: the collection below the parents.
    names = template.removesuffix("/{}").format(*(_q(n) for n in parents))
    return Url(f"{group_path(subscription, resource_group)}/providers/{names}", api_version)
