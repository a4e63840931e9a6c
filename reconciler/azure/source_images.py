"""What `reconcile migrate` needs to know of managed images that the flat live state omits.

The planner's vocabulary leaves out a managed image's OS state and its disk encryption
set (they never change in place). Migration must know both (R8: only generalized images
become Batch gallery images; a customer-managed key must follow the image), so each
managed image is read here with a GET through the SDK. A missing image is left out: the
spec's declaration is used instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from azure.core.exceptions import ResourceNotFoundError

from reconciler.azure.clients import AzureClients
from reconciler.migrate.model import ImageFacts
from reconciler.spec.ids import parse_id
from reconciler.state.model import canonical_id


def read_image_facts(clients: AzureClients, image_ids: Iterable[str]) -> dict[str, ImageFacts]:
    """`ImageFacts` by canonical id for each managed image in `image_ids` that exists."""
    out: dict[str, ImageFacts] = {}
    for image_id in image_ids:
        parsed = parse_id(image_id)
        if parsed is None:
            continue
        compute = clients.compute(parsed.subscription)
        try:
            image = compute.images.get(parsed.resource_group, parsed.name)
        except ResourceNotFoundError:
            continue
        profile = image.storage_profile
        os_disk = profile.os_disk if profile is not None else None
        if os_disk is None:
            continue
        encryption = os_disk.disk_encryption_set
        out[canonical_id(image_id)] = ImageFacts(
            os_type="Windows" if _text(os_disk.os_type, "Linux").lower() == "windows" else "Linux",
            os_state=_text(os_disk.os_state, "Generalized"),
            hyper_v_generation=_text(image.hyper_v_generation, "V1"),
            encryption_set=encryption.id if encryption is not None else None,
            source="live",
        )
    return out


def _text(value: object, default: str) -> str:
    """An SDK enum (or the plain string of a value it does not know) as Azure spells it."""
    if value is None:
        return default
    return str(getattr(value, "value", value))
