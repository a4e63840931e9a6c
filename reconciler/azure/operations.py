"""The write side: `AzureOperations` implements `reconciler.apply.ports.Operations` with the SDK.

Per kind:
- galleries, image definitions, image versions, managed images: created with
  `begin_create_or_update` (a long-running PUT of the desired body); updated with a
  PATCH (`begin_update`: GalleryUpdate, GalleryImageUpdate, GalleryImageVersionUpdate,
  ImageUpdate) carrying only the groups the change touches, each merged into the
  resource as read just before (never a PUT of the spec alone); a version update that
  drops a region also sets `safetyProfile.allowDeletionOfReplicatedLocations`, without
  which Azure refuses; a managed image can change only its tags;
- Batch pools: `pool.create` with `If-None-Match: *` (an existing pool → `ConflictError`),
  keeping a replaced pool's undeclared members when given them (`replacement_base`);
  `pool.update` as read-modify-write: a GET, then a PATCH of the groups the changed paths
  touch merged into the live ones, with `If-Match: <the ETag the plan saw>` (else the one
  just read), so a concurrent change fails the write instead of being overwritten;
  `pool.begin_delete` with `If-Match` when an ETag is given.

Every method blocks until Azure's long-running operation has finished provisioning, but
never waits for replication or allocation (apply polls `read` for those). Deleting an
absent resource is quiet. Errors leave as `reconciler.errors` exceptions.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest
from azure.mgmt.batch import models as batch_models
from azure.mgmt.core.exceptions import ARMErrorFormat

from reconciler.azure import merge
from reconciler.azure.arm import Family
from reconciler.azure.clients import AzureClients
from reconciler.azure.errors import is_not_found, translated
from reconciler.azure.mapping import (
    create_body,
    create_json,
    replacement_json,
    to_live,
    update_body,
    update_json,
)
from reconciler.azure.read import get_json
from reconciler.azure.urls import resource_url
from reconciler.errors import ConflictError, PermanentAzureError
from reconciler.state.model import Kind, LiveResource
from reconciler.state.scope import ResourceId, address_for, parse_id

# The Compute operation group of each kind the tool writes with a long-running PUT.
_COMPUTE_GROUPS = {
    Kind.GALLERY: "galleries",
    Kind.IMAGE: "gallery_images",
    Kind.VERSION: "gallery_image_versions",
    Kind.MANAGED_IMAGE: "images",
}


class AzureOperations:
    """Create, update, delete and read single resources through the real SDK clients."""

    def __init__(self, clients: AzureClients) -> None:
        self._clients = clients
        self._lock = threading.Lock()
        self._account_locations: dict[str, str] = {}

    # -- read ---------------------------------------------------------------------------

    def read(self, *, kind: Kind, resource_id: str) -> LiveResource | None:
        """One GET (versions with ``$expand=ReplicationStatus``); None when absent.

        The GET is the typed operation's (same URL, api-version and pipeline) but its
        answer is mapped from JSON: apply polls `read` while it waits, hundreds of times
        in a large apply, and the typed models' deserialisation (a pool's ~1 ms) would be
        most of each poll's cost.
        """
        rid = parse_id(resource_id)
        with translated(address=address_for(kind, resource_id)):
            doc = self._get_json(kind, rid)
            if doc is None:
                return None
            location = self._account_location(rid) if kind is Kind.POOL else None
            return to_live(kind, doc, location=location, azure_groups=None, include_owned=True)

    # -- create / update ----------------------------------------------------------------

    def create(
        self,
        *,
        kind: Kind,
        resource_id: str,
        location: str,
        props: Mapping[str, Any],
        wait: Callable[[float], None] | None = None,
        base: Mapping[str, Any] | None = None,
    ) -> LiveResource:
        """Create from flat desired properties over `base` (a replaced resource's members,
        from `replacement_base`); an existing pool raises `ConflictError`."""
        rid = parse_id(resource_id)
        with translated(address=address_for(kind, resource_id)):
            if kind is Kind.POOL:
                # The typed `pool.create`'s request (URL, api-version, If-None-Match: *, body),
                # sent as JSON and answered as JSON: building and parsing the Pool model
                # twice cost more than the rest of the call (a test keeps them equal).
                url, api_version = resource_url(kind, rid)
                response = self._clients.batch(rid.subscription).send_request(
                    HttpRequest(
                        "PUT",
                        url,
                        params={"api-version": api_version},
                        headers={"If-None-Match": "*", "Accept": "application/json"},
                        json=create_json(kind, props, base=base),
                    )
                )
                if response.status_code not in (200, 201):
                    raise HttpResponseError(response=response, error_format=ARMErrorFormat)
                return to_live(
                    kind, response.json(), location=location, azure_groups=None, include_owned=True
                )
            body = create_body(kind, props, location=location, base=base)
            model = self._put(kind, rid, body, wait)
            return to_live(kind, model, azure_groups=None, include_owned=True)

    def replacement_base(
        self,
        *,
        kind: Kind,
        resource_id: str,
        props: Mapping[str, Any],
        changed_paths: Sequence[str],
        etag: str | None = None,
    ) -> Mapping[str, Any] | None:
        """What a replacement of this pool must keep: every writable member the spec does
        not declare, read now. None when nothing is to be kept (absent, or not a pool).

        Raises `ConflictError` when the pool's ETag is no longer `etag`, and
        `PermanentAzureError` naming every secret the copy would lack (Azure never returns
        secrets, so a new pool could not be given them): before anything is deleted.
        """
        if kind is not Kind.POOL:
            return None
        rid = parse_id(resource_id)
        address = address_for(kind, resource_id)
        with translated(address=address):
            old = self._get_or_none(kind, rid)
        if old is None:
            return None
        doc = old if isinstance(old, dict) else dict(old)
        if etag and doc.get("etag") and doc["etag"] != etag:
            raise ConflictError(
                f"the pool's ETag is {doc['etag']}, not {etag}",
                code="ConditionNotMet",
                status=412,
                address=address,
            )
        base, missing = replacement_json(kind, old, props, changed_paths)
        if missing:
            raise PermanentAzureError(
                f"{address} cannot be replaced without losing settings: Azure does not "
                f"return secrets, so the new pool could not be given {', '.join(missing)}",
                code="ReplacementWouldLoseSecrets",
                address=address,
                hint="change the spec so the pool is updated rather than replaced, or "
                "recreate the pool with these settings yourself",
            )
        return base

    def update(
        self,
        *,
        kind: Kind,
        resource_id: str,
        location: str,
        props: Mapping[str, Any],
        changed_paths: Sequence[str],
        etag: str | None = None,
        wait: Callable[[float], None] | None = None,
    ) -> LiveResource:
        """Bring an existing resource to `props` by read-modify-write (see module doc)."""
        rid = parse_id(resource_id)
        with translated(address=address_for(kind, resource_id)):
            group = self._group(kind, rid)
            # The body each touched group is merged into: read now, just before the write.
            live = group.get(rid.resource_group, *rid.names)
            if kind is Kind.POOL:
                guard = etag or (live.get("etag") if isinstance(live, Mapping) else None)
                kwargs: dict[str, Any] = {}
                if guard:
                    kwargs = {"etag": guard, "match_condition": MatchConditions.IfNotModified}
                body = update_json(kind, live, props, changed_paths)
                missing = merge.uncopyable(kind, body)
                if missing:
                    # The groups sent are rebuilt from the live pool, which Azure returns
                    # without its secrets: sending them would drop the secrets.
                    raise PermanentAzureError(
                        f"{address_for(kind, resource_id)} cannot be updated without losing "
                        f"settings: Azure does not return secrets, so the update would lack "
                        f"{', '.join(missing)}",
                        code="UpdateWouldLoseSecrets",
                        address=address_for(kind, resource_id),
                        hint="declare these members in the spec under `properties:` with "
                        "${env:NAME} references, so apply can send them",
                    )
                model = group.update(
                    rid.resource_group,
                    rid.names[0],
                    rid.names[1],
                    batch_models.Pool(body),
                    **kwargs,
                )
                return to_live(
                    kind, model, location=location, azure_groups=None, include_owned=True
                )
            body = update_body(
                kind,
                live,
                props,
                changed_paths,
                location=location,
                allow_region_removal=_removes_region(props, changed_paths),
            )
            model = _finish(group.begin_update(rid.resource_group, *rid.names, body), wait)
            return to_live(kind, model, azure_groups=None, include_owned=True)

    # -- delete -------------------------------------------------------------------------

    def delete(
        self,
        *,
        kind: Kind,
        resource_id: str,
        etag: str | None = None,
        wait: Callable[[float], None] | None = None,
    ) -> None:
        """Delete and wait until gone; absent is fine; a pool whose ETag moved is a conflict.

        A pool's delete carries ``If-Match: <etag>`` when one is given (the SDK's delete
        has no parameter for it; Batch honours the header), so a pool changed since it was
        read is refused by Azure itself (412) rather than by a read-then-delete race.
        """
        rid = parse_id(resource_id)
        address = address_for(kind, resource_id)
        with translated(address=address):
            try:
                extra: dict[str, Any] = {}
                if kind is Kind.POOL and etag:
                    extra = {"headers": {"If-Match": etag}}
                _finish(self._begin_delete(kind, rid, **extra), wait)
            except HttpResponseError as exc:
                if not is_not_found(exc):
                    raise

    # -- per-kind SDK calls -------------------------------------------------------------

    def _group(self, kind: Kind, rid: ResourceId) -> Any:
        """The SDK operation group of `kind`; its calls take ``(resource group, *rid.names)``."""
        if kind is Kind.POOL:
            return self._clients.batch(rid.subscription).pool
        if kind is Kind.BATCH_ACCOUNT:
            return self._clients.batch(rid.subscription).batch_account
        return getattr(self._clients.compute(rid.subscription), _COMPUTE_GROUPS[kind])

    def _get(self, kind: Kind, rid: ResourceId) -> Any:
        # Replication status comes only with the single-version GET's $expand.
        extra = {"expand": "ReplicationStatus"} if kind is Kind.VERSION else {}
        return self._group(kind, rid).get(rid.resource_group, *rid.names, **extra)

    def _get_json(self, kind: Kind, rid: ResourceId) -> dict[str, Any] | None:
        """The resource's JSON from the GET `_get` sends, or None when Azure answers 404."""
        url, api_version = resource_url(kind, rid)
        params = {"api-version": api_version}
        if kind is Kind.VERSION:
            params["$expand"] = "ReplicationStatus"
        # The read pipeline: the same request on the wire as the typed client's (reads
        # poll many times per change; the typed client's send_request costs more per call).
        family: Family = "batch" if kind in (Kind.POOL, Kind.BATCH_ACCOUNT) else "compute"
        doc = get_json(self._clients.reader(family, rid.subscription), url, params)
        if doc is None:
            return None
        return doc if isinstance(doc, dict) else {}

    def _get_or_none(self, kind: Kind, rid: ResourceId) -> Any:
        """`_get`, or None when Azure answers 404."""
        try:
            return self._get(kind, rid)
        except HttpResponseError as exc:
            if is_not_found(exc):
                return None
            raise

    def _put(
        self, kind: Kind, rid: ResourceId, body: Any, wait: Callable[[float], None] | None
    ) -> Any:
        if kind not in _COMPUTE_GROUPS:
            raise ValueError(f"cannot write a {kind.value}")
        group = self._group(kind, rid)
        return _finish(group.begin_create_or_update(rid.resource_group, *rid.names, body), wait)

    def _begin_delete(self, kind: Kind, rid: ResourceId, **extra: Any) -> Any:
        if kind is Kind.BATCH_ACCOUNT:
            raise ValueError(f"the tool never deletes a {kind.value}")
        return self._group(kind, rid).begin_delete(rid.resource_group, *rid.names, **extra)

    def _account_location(self, rid: ResourceId) -> str:
        """A pool's region is its account's; one GET per account, remembered."""
        account_id = rid.parent_id
        with self._lock:
            known = self._account_locations.get(account_id)
        if known is not None:
            return known
        account = self._get_json(Kind.BATCH_ACCOUNT, parse_id(account_id))
        if account is None:
            return ""
        location = to_live(Kind.BATCH_ACCOUNT, account).location
        with self._lock:
            self._account_locations[account_id] = location
        return location


def _removes_region(props: Mapping[str, Any], changed_paths: Sequence[str]) -> bool:
    """True when a changed ``targetRegions[<r>]`` path names a region no longer desired."""
    desired = {p.split("]")[0] for p in props if p.startswith("targetRegions[")}
    return any(
        p.startswith("targetRegions[") and p.split("]")[0] not in desired for p in changed_paths
    )


# How often a waiting caller looks at a poller: every tenth of the time waited so far,
# between these bounds — an operation is then noticed at most ~10% (and 50 ms) after it
# ends, where doubling looks had noticed a 75 ms one at 125 ms. Only `done()` is checked:
# the SDK's own thread polls Azure at the interval Azure asks for, so looks cost no
# requests.
_FIRST_LOOK, _LAST_LOOK = 0.002, 0.05


def _finish(poller: Any, wait: Callable[[float], None] | None) -> Any:
    """The poller's result, passing time with `wait` (apply frees its slot) meanwhile."""
    if wait is not None:
        started = time.monotonic()
        while not poller.done():
            waited = time.monotonic() - started
            wait(min(_LAST_LOOK, max(_FIRST_LOOK, waited / 10)))
    return poller.result()
