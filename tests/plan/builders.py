"""Small builders of desired/live resources and changes for planner unit tests."""

from __future__ import annotations

from typing import Any

from reconciler.plan.desired import DesiredResource, DesiredState, owner_marks
from reconciler.plan.model import Action, Change
from reconciler.state.model import Kind, LiveResource, LiveState

SUB = "00000000-0000-0000-0000-000000000001"
RG_IMAGES = f"/subscriptions/{SUB}/resourcegroups/rg-images/providers/microsoft.compute"
RG_BATCH = f"/subscriptions/{SUB}/resourcegroups/rg-batch/providers/microsoft.batch"
ACCOUNT_WEU = f"{RG_BATCH}/batchaccounts/weu"
ACCOUNT_EUS = f"{RG_BATCH}/batchaccounts/eus"


def gallery_id(g: str = "gal") -> str:
    return f"{RG_IMAGES}/galleries/{g}"


def image_id(g: str = "gal", d: str = "render") -> str:
    return f"{gallery_id(g)}/images/{d}"


def version_id(v: str = "1.0.0", g: str = "gal", d: str = "render") -> str:
    return f"{image_id(g, d)}/versions/{v}"


def pool_id(name: str, account: str = ACCOUNT_WEU) -> str:
    return f"{account}/pools/{name}"


def change(
    cid: str,
    kind: Kind,
    action: Action,
    resource_id: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    location: str = "westeurope",
    paths: tuple[str, ...] = (),
) -> Change:
    return Change(
        id=cid,
        address=cid,
        kind=kind,
        action=action,
        resource_id=resource_id,
        location=location,
        reason=cid,
        before=before,
        after=after,
        changed_paths=paths,
    )


def _named(address: str, kind: Kind, resource_id: str, location: str) -> dict[str, Any]:
    """The identity both sides share: the name is the id's last segment, as in Azure."""
    return {
        "address": address,
        "kind": kind,
        "id": resource_id,
        "name": resource_id.rsplit("/", 1)[-1],
        "location": location,
    }


def desired(
    address: str,
    kind: Kind,
    resource_id: str,
    props: dict[str, Any],
    *,
    location: str = "westeurope",
    complete: tuple[str, ...] = (),
    image: str | None = None,
    account: str | None = None,
) -> DesiredResource:
    return DesiredResource(
        **_named(address, kind, resource_id, location),
        properties={**props, **owner_marks(kind)},
        complete=complete,
        image_id=image,
        account_id=account,
    )


def live(
    address: str,
    kind: Kind,
    resource_id: str,
    props: dict[str, Any],
    *,
    owned: bool = True,
    location: str = "westeurope",
    **extra: Any,
) -> LiveResource:
    marks = owner_marks(kind) if owned else {}
    return LiveResource(
        **_named(address, kind, resource_id, location),
        properties={**props, **marks},
        **extra,
    )


def state(*resources: LiveResource) -> LiveState:
    return LiveState(resources={r.address: r for r in resources})


def desired_state(*resources: DesiredResource, prune: bool = False) -> DesiredState:
    return DesiredState(
        resources={r.address: r for r in resources}, spec_hash="sha256:" + "0" * 64, prune=prune
    )
