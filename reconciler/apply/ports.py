"""The seam between apply and Azure: what apply needs from the Azure layer.

`reconciler.azure.operations.AzureOperations` implements it with the real SDK clients
(against Azure or the sandbox); tests may use a small fake with hooks. Every method
is synchronous and blocks until Azure's long-running operation (if any) has finished
provisioning — but never waits for replication or pool allocation: apply polls `read`
for those so it can report progress and re-issue resizes. While a long-running
operation is in progress, writes pass time by calling `wait(seconds)` when given one:
apply's `wait` frees the change's parallelism slot, so waiting on Azure never holds
back independent work.

Errors raised are from `reconciler.errors` (Transient / Permanent / Conflict), never
SDK exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from reconciler.state.model import Kind, LiveResource


class Operations(Protocol):
    def read(self, *, kind: Kind, resource_id: str) -> LiveResource | None:
        """The resource now (with replication / allocation status), or None when absent."""
        ...

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
        """Create from flat desired properties (secrets already resolved).

        `base`, from `replacement_base`, holds a replaced resource's members that the spec
        does not declare: the new resource keeps them. Pools are created with
        `If-None-Match: *`, so an existing pool raises ConflictError.
        """
        ...

    def replacement_base(
        self,
        *,
        kind: Kind,
        resource_id: str,
        props: Mapping[str, Any],
        changed_paths: Sequence[str],
        etag: str | None = None,
    ) -> Mapping[str, Any] | None:
        """What replacing this resource must keep, read now (None: nothing to keep).

        Raises ConflictError when `etag` no longer matches and PermanentAzureError when
        the copy would lose something it cannot restore (secrets Azure never returns);
        called before the delete, so a refusal leaves the resource untouched.
        """
        ...

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
        """Bring an existing resource to `props` (the full desired flat mapping).

        The implementation picks PUT or PATCH per kind and sends what `changed_paths`
        touch; for pools it sends `If-Match: etag` when given (mismatch → ConflictError).
        """
        ...

    def delete(
        self,
        *,
        kind: Kind,
        resource_id: str,
        etag: str | None = None,
        wait: Callable[[float], None] | None = None,
    ) -> None:
        """Delete and wait until gone; an already absent resource is not an error."""
        ...
