"""The Azure Resource Manager protocol shared by every resource type.

Owns: the parsed request handlers see (`Call`), the handler result (`Result`), ARM errors
(`ArmError` → `{"error": {"code", "message"}}`), URL routing (`Router`), `nextLink` paging,
the list handlers every provider shares (`list_in_group`, `list_in_subscription`),
long-running operations (operation records, `Azure-AsyncOperation` / `Location` headers,
operation-status bodies) and the per-request `World` handlers act on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload
from urllib.parse import parse_qsl, urlencode

from reconciler.sandbox.clock import iso
from reconciler.sandbox.config import SandboxConfig
from reconciler.sandbox.store import Tx


class ArmError(Exception):
    """An error answered as an ARM error body with an HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return {"error": error}


def not_found(rtype: str, name: str, rg: str | None, *, code: str = "ResourceNotFound") -> ArmError:
    where = f" under resource group '{rg}'" if rg else ""
    return ArmError(404, code, f"The Resource '{rtype}/{name}'{where} was not found.")


def bad_request(message: str, *, code: str = "InvalidParameter", target: str | None = None):
    return ArmError(400, code, message, target=target)


@dataclass(frozen=True)
class Call:
    """A request as handlers see it: routing parameters, query, headers and JSON body."""

    method: str
    base: str  # scheme://host of the request, used to build nextLink and LRO URLs
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: Any
    params: Mapping[str, str]
    raw: bytes = b""  # the body as sent, for error positions

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")

    def q(self, name: str) -> str | None:
        """A query parameter, matched case-insensitively."""
        for key, value in self.query.items():
            if key.lower() == name.lower():
                return value
        return None

    def json_object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise bad_request(
                "The request content was invalid and could not be deserialized.",
                code="InvalidRequestContent",
            )
        return self.body

    def url_with(self, **changes: str) -> str:
        query = {k: v for k, v in self.query.items() if k not in changes}
        query.update(changes)
        return f"{self.base}{self.path}?{urlencode(query)}"


@dataclass
class Result:
    """What a handler answers: status, JSON body (None for empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Real seconds to wait (outside the transaction) before answering; see poll_pacing.
    pace: float = 0.0


@dataclass
class Effects:
    """Fault effects a request carries into the operation it starts."""

    lro_failure: tuple[str, str] | None = None  # (code, message)
    slow_factor: float = 1.0


@dataclass
class World:
    """A handler's view of the world during one request's transaction."""

    tx: Tx
    now: float
    config: SandboxConfig
    effects: Effects

    # -- long-running operations ------------------------------------------------------

    def start_operation(
        self,
        call: Call,
        *,
        provider: str,
        location: str,
        resource_id: str,
        kind: str,
        duration: float,
        fail_as: tuple[str, str] | None = None,
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Record an LRO ending after `duration` simulated seconds (scaled by a `slow` fault).

        Returns (operation record, response headers pointing at its status monitor).
        """
        op_id = str(uuid.uuid4())
        end = self.now + duration * self.effects.slow_factor
        failure = fail_as or self.effects.lro_failure
        sub = call.params.get("sub", "")
        op = {
            "id": op_id,
            "kind": kind,
            "resourceId": resource_id,
            "start": self.now,
            "end": end,
            "failure": list(failure) if failure else None,
        }
        self.tx.put_op(op_id, op)
        loc = region_key(location) or "global"
        status_url = (
            f"{call.base}/subscriptions/{sub}/providers/{provider}/locations/{loc}"
            f"/operations/{op_id}?{urlencode({'api-version': call.api_version})}"
        )
        headers = {
            "Azure-AsyncOperation": status_url,
            "Location": status_url + "&monitor=true",
            "Retry-After": "0",
        }
        return op, headers

    def op_finished(self, op: Mapping[str, Any]) -> bool:
        return self.now >= float(op["end"])


def lro_state(now: float, until: float | None, final: str, running: str) -> str:
    """The provisioningState of a resource whose last LRO ends at `until`."""
    if until is None or now >= until:
        return final
    return running


# -- routing -------------------------------------------------------------------------

Handler = Callable[[World, Call], Result]


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    handlers: Mapping[str, Handler]
    name: str


class Router:
    """Maps (method, path) to handlers; literal path segments match case-insensitively."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, template: str, name: str, **handlers: Handler) -> None:
        regex = ""
        for segment in template.strip("/").split("/"):
            m = re.fullmatch(r"\{(\w+)\}", segment)
            regex += "/" + (f"(?P<{m.group(1)}>[^/]+)" if m else re.escape(segment))
        compiled = re.compile("^" + regex + "/?$", re.IGNORECASE)
        self.routes.append(Route(compiled, {k.upper(): v for k, v in handlers.items()}, name))

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                handler = route.handlers.get(method.upper())
                if handler is None:
                    raise ArmError(
                        405,
                        "MethodNotAllowed",
                        f"The requested resource does not support http method '{method}'.",
                    )
                return handler, m.groupdict()
        raise ArmError(
            404,
            "InvalidResourceType",
            f"The resource type could not be found for path '{path}'.",
        )


# -- paging --------------------------------------------------------------------------


def paged(world: World, call: Call, items: Iterable[dict[str, Any]]) -> Result:
    """One page of a list operation; `nextLink` carries a `$skiptoken` offset."""
    if not isinstance(items, Sequence):
        items = list(items)
    token = call.q("$skiptoken")
    try:
        start = int(token) if token else 0
    except ValueError as exc:
        raise bad_request(f"Invalid $skiptoken '{token}'.") from exc
    size = world.config.page_size
    asked = call.q("maxresults") or call.q("$top")
    if asked:
        try:
            size = max(1, min(int(asked), 1000))
        except ValueError as exc:
            raise bad_request(f"Invalid page size '{asked}'.") from exc
    body: dict[str, Any] = {"value": items[start : start + size]}
    if start + size < len(items):
        query = {k: v for k, v in call.query.items() if k.lower() != "$skiptoken"}
        query["$skiptoken"] = str(start + size)
        body["nextLink"] = f"{call.base}{call.path}?{urlencode(query)}"
    return Result(200, body)


def parse_query(raw: str) -> dict[str, str]:
    return dict(parse_qsl(raw, keep_blank_values=True))


# -- operation status ------------------------------------------------------------------


def operation_status(world: World, call: Call) -> Result:
    """GET on an `Azure-AsyncOperation` URL (status body) or `Location` URL (`monitor=true`)."""
    op = world.tx.get_op(call.params["op"])
    if op is None:
        raise ArmError(404, "OperationNotFound", f"Operation '{call.params['op']}' not found.")
    done = world.op_finished(op)
    failure = op.get("failure")
    pace = 0.0
    monitor = (call.q("monitor") or "").lower() == "true"
    if not done:
        remaining_real = (float(op["end"]) - world.now) / world.config.speed
        pace = max(0.0, min(world.config.poll_pacing, remaining_real))
        # The status body ends within this wait: answered when the operation ends, as it
        # reads then (a long poll), not as it read before the wait — that answer would be
        # stale on arrival and cost every operation one more poll at its end.
        done = not monitor and remaining_real <= world.config.poll_pacing
    if monitor:
        if not done:
            return Result(202, None, {"Location": call.url_with(), "Retry-After": "0"}, pace)
        if failure:
            raise ArmError(400, failure[0], failure[1])
        if op["kind"] in ("create", "update"):
            resource = world.tx.get(op["resourceId"])
            if resource is not None and is_alive(world, resource):
                return Result(200, render(world, resource, call))
        return Result(200, None)
    body: dict[str, Any] = {"name": op["id"], "startTime": iso(op["start"])}
    if not done:
        body["status"] = "InProgress"
    else:
        body["endTime"] = iso(op["end"])
        body["status"] = "Failed" if failure else "Succeeded"
        if failure:
            body["error"] = {"code": failure[0], "message": failure[1]}
    return Result(200, body, {}, pace)


# -- resource documents ----------------------------------------------------------------
#
# A stored document is the resource's public JSON plus a private "_sys" mapping:
#   created     simulated time of creation
#   until       end of the resource's current/last LRO (None: nothing running)
#   running     provisioningState while that LRO runs (Creating/Updating/Deleting)
#   final       provisioningState once it ends (Succeeded/Failed)
#   gone_at     when a delete completes: from then on the resource no longer exists
# plus type-specific entries (replication of versions, allocation of pools).

Renderer = Callable[[World, dict[str, Any], Call | None], dict[str, Any]]
RENDERERS: dict[str, Renderer] = {}


def render(world: World, doc: dict[str, Any], call: Call | None) -> dict[str, Any]:
    """The public JSON of a stored document, with time-dependent state computed for now."""
    renderer = RENDERERS.get(doc["type"].lower())
    if renderer is None:
        return public(doc)
    return renderer(world, doc, call)


def public(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != "_sys"}


def json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): what `copy.deepcopy` gives it, at a
    fraction of the cost (no memo, no dispatch), for the documents every answer renders."""
    if isinstance(value, dict):
        return {k: json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_copy(v) for v in value]
    return value


def is_alive(world: World, doc: Mapping[str, Any]) -> bool:
    gone_at = doc.get("_sys", {}).get("gone_at")
    return gone_at is None or world.now < float(gone_at)


def get_alive(world: World, rid: str) -> dict[str, Any] | None:
    doc = world.tx.get(rid)
    return doc if doc is not None and is_alive(world, doc) else None


def provisioning_state(world: World, doc: Mapping[str, Any]) -> str:
    sys_ = doc.get("_sys", {})
    return lro_state(
        world.now, sys_.get("until"), sys_.get("final", "Succeeded"), sys_.get("running", "")
    )


def is_busy(world: World, doc: Mapping[str, Any]) -> bool:
    until = doc.get("_sys", {}).get("until")
    return until is not None and world.now < float(until)


def mark_lro(
    doc: dict[str, Any],
    *,
    running: str,
    until: float,
    failed: bool,
    deleting: bool = False,
) -> None:
    sys_ = doc.setdefault("_sys", {})
    sys_["until"] = until
    sys_["running"] = running
    sys_["final"] = "Failed" if failed else "Succeeded"
    sys_["gone_at"] = until if deleting and not failed else None


def require_resource_group(world: World, sub: str, rg: str) -> dict[str, Any]:
    """The resource group document; ARM's 404s when it or the subscription is missing."""
    if world.tx.get(f"/subscriptions/{sub}") is None:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
    group = world.tx.get(f"/subscriptions/{sub}/resourceGroups/{rg}")
    if group is None:
        raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
    return group


def require_subscription(world: World, sub: str) -> dict[str, Any]:
    doc = world.tx.get(f"/subscriptions/{sub}")
    if doc is None:
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
    return doc


class Visible(Sequence[dict[str, Any]]):
    """The live documents of a listing, rendered only when an item or a slice is taken.

    `paged` takes one page of it, so a list of N resources renders N items over all its
    pages, not N per page.
    """

    def __init__(self, world: World, docs: Iterable[dict[str, Any]], call: Call | None) -> None:
        self._world = world
        self._call = call
        self._docs = [d for d in docs if is_alive(world, d)]

    def __len__(self) -> int:
        return len(self._docs)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [render(self._world, d, self._call) for d in self._docs[index]]
        return render(self._world, self._docs[index], self._call)


def visible(world: World, docs: Iterable[dict[str, Any]], call: Call | None) -> Visible:
    return Visible(world, docs, call)


def region_key(name: str) -> str:
    """``West Europe`` / ``westeurope`` → ``westeurope``: how Azure matches region names."""
    return name.replace(" ", "").lower()


def same(a: Any, b: Any) -> bool:
    """Equality as ARM compares enum-like strings: case-insensitive."""
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    return a == b


def property_change_not_allowed(path: str) -> ArmError:
    return ArmError(
        409,
        "PropertyChangeNotAllowed",
        f"Changing property '{path}' is not allowed.",
        target=path,
    )


def list_in_group(rtype: str) -> Handler:
    """A handler listing the live resources of `rtype` in the request's resource group."""

    def list_rg(world: World, call: Call) -> Result:
        require_resource_group(world, call.params["sub"], call.params["rg"])
        docs = world.tx.of_type(rtype, call.params["sub"], call.params["rg"])
        return paged(world, call, visible(world, docs, call))

    return list_rg


def list_in_subscription(rtype: str) -> Handler:
    """A handler listing the live resources of `rtype` in the request's subscription."""

    def list_sub(world: World, call: Call) -> Result:
        require_subscription(world, call.params["sub"])
        return paged(world, call, visible(world, world.tx.of_type(rtype, call.params["sub"]), call))

    return list_sub
