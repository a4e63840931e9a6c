"""Read live state for a `ReadScope`: list calls only, paged, concurrent, bounded.

The resource tree is walked as a dependency-driven pipeline, not level by level: each
listing is a task on a bounded thread pool, and a child listing (a gallery's
definitions, a definition's versions) is submitted the moment its parent's listing
returns. Independent roots (resource groups, Batch accounts) start at once, and an
account's pool listing runs alongside the account's own GET. Wall time therefore
approaches the best schedule of the tree on `concurrency` workers (at least its depth in
round trips, at least calls ÷ concurrency), instead of one round trip per resource.

The read never provokes a 429: every request waits for room in its subscription's read
bucket as ARM's `x-ms-ratelimit-remaining-subscription-reads` headers report it
(`reconciler.azure.pacing`), and workers take their next listing, round-robin, from a
subscription whose bucket has room, so an estate spread over subscriptions reads at the
sum of their rates while a nearly-empty bucket slows only its own subscription.

What is read:
- galleries by resource group; definitions by gallery and versions by definition, for
  every gallery that the scope names or that the tool owns (so owned galleries that
  left the spec are found for prune);
- managed images by resource group;
- each Batch account (one GET: its location and pool allocation mode) and its pools.

Every request goes through a read pipeline (`AzureClients.reader`: the generated clients'
policies — credential, retry, user agent, transport — on azure-mgmt-core's
`ARMPipelineClient`, see `reconciler.azure.arm`) and is mapped from its JSON directly: the
typed models' deserialisation costs ~0.3 ms per resource, which at a thousand versions
outweighs the round trips this module exists to save, and the generated packages cost
0.2 s to import. URLs, api-versions and headers are those of the SDK's typed list and get
operations (tests keep them equal).

Image-version replication status needs ``$expand=ReplicationStatus``, which only the
single-version GET supports (the list operation has no ``$expand``). A version the listing
shows `Succeeded` has finished replicating everywhere; for every other one (`Creating`,
`Updating`, `Failed`: an interrupted apply's, or another writer's) the walk makes that GET,
so the planner sees per-region replication exactly where it is in flight, at one extra
round trip per such version and none for a settled gallery.

A collection whose parent is missing (404: resource group, gallery, account) is simply
empty — it is still recorded in `LiveState.scopes` as read. Other failures raise
`reconciler.errors` exceptions (the first one; the rest of the walk is abandoned).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ResourceNotModifiedError,
    map_error,
)
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat

from reconciler.azure.clients import AzureClients
from reconciler.azure.errors import classify
from reconciler.azure.mapping import to_live
from reconciler.azure.urls import Url, collection_url, resource_url
from reconciler.state.model import Kind, LiveResource, LiveState
from reconciler.state.scope import (
    ACCOUNTS,
    GALLERIES_IN,
    IMAGES_IN,
    MANAGED_IMAGES_IN,
    POOLS_IN,
    VERSIONS_IN,
    ReadScope,
    listed,
    parse_id,
    rg_id,
)

DEFAULT_CONCURRENCY = 16

# What the typed operations raise for these statuses (their `error_map`), before the
# generic `HttpResponseError`: the account GET answers as `batch_account.get` did.
_ERROR_MAP = {
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
    304: ResourceNotModifiedError,
}


def read_live_state(
    clients: AzureClients,
    scope: ReadScope,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_document: Callable[[Kind, dict[str, Any]], None] | None = None,
) -> LiveState:
    """Everything `scope` names, as one `LiveState` (see the module docstring).

    `on_document` sees each listed resource's REST JSON as read (from several threads):
    `reconcile export` needs the members the flat state leaves out.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    walk = _Walk(clients, scope, concurrency, on_document)
    return walk.run()


class _Walk:
    """One concurrent read: per-subscription queues, `concurrency` workers, the first error.

    A worker takes the next task, round-robin over subscriptions, from a subscription whose
    rate-limit bucket has room now (`AzureClients.pacing`), so a subscription close to its
    limit waits alone while the others' listings go on.
    """

    def __init__(
        self,
        clients: AzureClients,
        scope: ReadScope,
        concurrency: int,
        on_document: Callable[[Kind, dict[str, Any]], None] | None = None,
    ) -> None:
        self._clients = clients
        self._on_document = on_document
        self._scope = scope
        self._concurrency = concurrency
        self._pacing = getattr(clients, "pacing", None)
        self._lock = threading.Condition()
        self._queues: dict[str, deque[tuple[Callable[..., None], tuple[Any, ...]]]] = {}
        self._turn: list[str] = []  # subscriptions in round-robin order
        self._next = 0
        self._pending = 0  # queued or running
        self._error: BaseException | None = None
        self._resources: list[LiveResource] = []
        self._scopes: set[str] = set()
        self._account_locations: dict[str, str] = {}

    # -- scheduling ---------------------------------------------------------------------

    def run(self) -> LiveState:
        for sub, group in self._scope.gallery_groups:
            self._submit(sub, self._galleries, sub, group)
        for sub, group in self._scope.image_groups:
            self._submit(sub, self._managed_images, sub, group)
        for account_id in self._scope.batch_accounts:
            sub = parse_id(account_id).subscription
            self._submit(sub, self._account, account_id)
            self._submit(sub, self._pools, account_id)
        workers = [
            threading.Thread(target=self._work, name=f"read-{i}", daemon=True)
            for i in range(self._concurrency if self._pending else 0)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if self._error is not None:
            raise classify(self._error) from self._error
        return LiveState(
            resources=self._assemble(),
            scopes=tuple(sorted(self._scopes)),
        )

    def _submit(self, subscription: str, fn: Callable[..., None], *args: Any) -> None:
        key = subscription.lower()
        with self._lock:
            if self._error is not None:
                return
            if key not in self._queues:
                self._queues[key] = deque()
                self._turn.append(key)
            self._queues[key].append((fn, args))
            self._pending += 1
            self._lock.notify()

    def _take(self) -> tuple[tuple[Callable[..., None], tuple[Any, ...]] | None, float | None]:
        """The next task from a subscription with room, or (None, seconds to wait / None)."""
        soonest: float | None = None
        for step in range(len(self._turn)):
            key = self._turn[(self._next + step) % len(self._turn)]
            queue = self._queues[key]
            if not queue:
                continue
            wait = self._pacing.wait_time(key, "read") if self._pacing is not None else 0.0
            if wait <= 0:
                self._next = (self._next + step + 1) % len(self._turn)
                return queue.popleft(), None
            soonest = wait if soonest is None else min(soonest, wait)
        return None, soonest

    def _work(self) -> None:
        while True:
            with self._lock:
                while True:
                    if self._error is not None or self._pending == 0:
                        self._lock.notify_all()
                        return
                    task, wait = self._take()
                    if task is not None:
                        break
                    # Nothing ready: a running task may queue children, or a bucket refills.
                    self._lock.wait(timeout=min(wait, 1.0) if wait is not None else None)
            fn, args = task
            try:
                fn(*args)
            except BaseException as exc:
                with self._lock:
                    if self._error is None:
                        self._error = exc
            finally:
                with self._lock:
                    self._pending -= 1
                    self._lock.notify_all()

    def _record(self, scope_key: str, resources: Iterable[LiveResource]) -> None:
        with self._lock:
            self._scopes.add(scope_key)
            self._resources.extend(resources)

    def _live(self, kind: Kind, doc: dict[str, Any]) -> LiveResource:
        if self._on_document is not None:
            self._on_document(kind, doc)
        groups = self._scope.azure_groups_of(kind)
        return to_live(kind, doc, azure_groups=groups, include_owned=groups is not None)

    # -- listings -----------------------------------------------------------------------

    def _galleries(self, sub: str, group: str) -> None:
        url = collection_url(Kind.GALLERY, sub, group)
        found = _list_json(self._clients.reader("compute", sub), url)
        galleries = [self._live(Kind.GALLERY, g) for g in found]
        self._record(listed(GALLERIES_IN, rg_id(sub, group)), galleries)
        for gallery in galleries:
            if gallery.owned or self._scope.every_gallery or gallery.id in self._scope.galleries:
                self._submit(sub, self._images, gallery.id)

    def _images(self, gallery_id: str) -> None:
        rid = parse_id(gallery_id)
        url = collection_url(Kind.IMAGE, rid.subscription, rid.resource_group, *rid.names)
        found = _list_json(self._clients.reader("compute", rid.subscription), url)
        images = [self._live(Kind.IMAGE, i) for i in found]
        self._record(listed(IMAGES_IN, gallery_id), images)
        for image in images:
            self._submit(rid.subscription, self._versions, image.id)

    def _versions(self, image_id: str) -> None:
        rid = parse_id(image_id)
        url = collection_url(Kind.VERSION, rid.subscription, rid.resource_group, *rid.names)
        client = self._clients.reader("compute", rid.subscription)
        found = _list_json(client, url)
        settled = [v for v in found if _provisioning(v) == "succeeded"]
        self._record(listed(VERSIONS_IN, image_id), [self._live(Kind.VERSION, v) for v in settled])
        for version in found:
            if _provisioning(version) != "succeeded":
                self._submit(
                    rid.subscription,
                    self._version_detail,
                    client,
                    resource_url(Kind.VERSION, parse_id(version["id"])),
                    version,
                )

    def _version_detail(self, client: Any, url: Url, listed_doc: dict[str, Any]) -> None:
        """One in-flight version with its per-region replication status."""
        params = {"api-version": url.api_version, "$expand": "ReplicationStatus"}
        doc = get_json(client, url.path, params)
        if doc is None:
            return  # deleted since it was listed
        resource = self._live(Kind.VERSION, doc or listed_doc)
        with self._lock:
            self._resources.append(resource)

    def _managed_images(self, sub: str, group: str) -> None:
        url = collection_url(Kind.MANAGED_IMAGE, sub, group)
        found = _list_json(self._clients.reader("compute", sub), url)
        self._record(
            listed(MANAGED_IMAGES_IN, rg_id(sub, group)),
            [self._live(Kind.MANAGED_IMAGE, i) for i in found],
        )

    def _account(self, account_id: str) -> None:
        rid = parse_id(account_id)
        url = resource_url(Kind.BATCH_ACCOUNT, rid)
        # The typed `batch_account.get`'s request: its URL, api-version and Accept header.
        doc = get_json(
            self._clients.reader("batch", rid.subscription),
            url.path,
            {"api-version": url.api_version},
            headers={"Accept": "application/json"},
        )
        if doc is None:
            self._record(listed(ACCOUNTS, account_id), ())
            return
        account = to_live(Kind.BATCH_ACCOUNT, doc)
        with self._lock:
            self._account_locations[account_id] = account.location
        self._record(listed(ACCOUNTS, account_id), (account,))

    def _pools(self, account_id: str) -> None:
        rid = parse_id(account_id)
        url = collection_url(Kind.POOL, rid.subscription, rid.resource_group, *rid.names)
        found = _list_json(self._clients.reader("batch", rid.subscription), url)
        self._record(listed(POOLS_IN, account_id), [self._live(Kind.POOL, p) for p in found])

    def _assemble(self) -> dict[str, LiveResource]:
        """Resources by address, pools located in their account's region.

        Addresses come from names alone (the spec's format), so two resources of one kind
        with the same names in different resource groups collide; the first by id keeps
        the address, the others get ``@<resource group>`` appended — nothing is dropped.
        """
        out: dict[str, LiveResource] = {}
        for resource in sorted(self._resources, key=lambda r: r.id):
            if resource.kind is Kind.POOL and not resource.location:
                account = parse_id(resource.id).parent_id
                location = self._account_locations.get(account, "")
                if location:
                    resource = replace(resource, location=location)
            address = resource.address
            if address in out and out[address].id != resource.id:
                address = f"{address}@{parse_id(resource.id).resource_group}"
                resource = replace(resource, address=address)
            out[address] = resource
        return out


def _provisioning(doc: dict[str, Any]) -> str:
    return str((doc.get("properties") or {}).get("provisioningState") or "succeeded").lower()


def get_json(
    client: Any,
    url: str,
    params: Mapping[str, str],
    *,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """The JSON of one ARM GET through `client`'s pipeline; None when Azure answers 404.

    Any other status but 200 raises as the SDK's typed operations do (`_ERROR_MAP`,
    ARM's error format).
    """
    response = client.send_request(
        HttpRequest("GET", url, params=dict(params), headers=dict(headers or {}))
    )
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        map_error(status_code=response.status_code, response=response, error_map=_ERROR_MAP)
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    return response.json()


def _list_json(client: Any, url: Url) -> list[dict[str, Any]]:
    """Every item of an ARM list (following `nextLink`) as JSON; a missing parent (404) is empty."""
    items: list[dict[str, Any]] = []
    request: HttpRequest | None = HttpRequest(
        "GET", url.path, params={"api-version": url.api_version}
    )
    while request is not None:
        response = client.send_request(request)
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)
        body = response.json()
        items.extend(body.get("value") or ())
        next_link = body.get("nextLink")
        request = HttpRequest("GET", next_link) if next_link else None
    return items
