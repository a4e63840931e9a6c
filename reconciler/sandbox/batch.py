"""Microsoft.Batch: Batch accounts (seeded, read-only) and pools with the allocation model.

Wire format follows Batch 2025-06-01: pool create (PUT, also a full replace) and update
(PATCH, only what is given) are synchronous and carry an ETag honouring `If-Match` /
`If-None-Match: *`; delete is long-running (202 + `Location`).

Allocation model (deterministic; it is what the product's sizing rules are checked
against). A resize to N nodes needs ``15 min × N/1000`` (a managed-image pool at least
20 min, 30 min above 300 nodes), multiplied by ``max(1, Nv / (600 × replicas))`` where Nv
sums the targets of every pool in the account's region using that gallery image version
and ``replicas`` is the version's replica count there that has finished replicating
(replicas still replicating do not serve yet; none ready → `AllocationFailed`). Nodes arrive at rate N/needed, so a
resize continuing from k nodes takes ``needed × (N-k)/N``. When the pool's `resizeTimeout`
is shorter, it stops at the timeout with the nodes reached so far and `AllocationTimedOut`;
a new resize continues from there. A pool whose image no longer exists fails its next
resize with `AllocationFailed` (R6). Shrinking takes `durations.node_removal`.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from typing import Any

from reconciler.openapi.surface import SurfaceKind, writable_fields
from reconciler.sandbox.arm import (
    RENDERERS,
    ArmError,
    Call,
    Result,
    Router,
    World,
    get_alive,
    json_copy,
    list_in_group,
    list_in_subscription,
    not_found,
    paged,
    public,
    region_key,
    require_resource_group,
    same,
    visible,
)
from reconciler.sandbox.clock import format_duration, iso, parse_duration
from reconciler.sandbox.compute import T_DEFINITION, T_IMAGE, T_VERSION, region_replicas
from reconciler.sandbox.members import request_body
from reconciler.sandbox.store import scope_of

PROVIDER = "Microsoft.Batch"
T_ACCOUNT = "Microsoft.Batch/batchAccounts"
T_POOL = "Microsoft.Batch/batchAccounts/pools"

ACCOUNT = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch/batchAccounts/{account}"
)
POOL = ACCOUNT + "/pools/{pool}"

MIN_RESIZE_TIMEOUT = 300.0
DEFAULT_RESIZE_TIMEOUT = 900.0
VMS_PER_REPLICA = 600

# Changeable while the pool has nodes (Pool - Update, API 2024-07-01+).
ALWAYS_UPDATABLE = {"applicationPackages", "certificates", "metadata", "scaleSettings", "startTask"}
# Set by the service; ignored when sent.
READ_ONLY = {
    "lastModified",
    "creationTime",
    "provisioningState",
    "provisioningStateTransitionTime",
    "allocationState",
    "allocationStateTransitionTime",
    "currentDedicatedNodes",
    "currentLowPriorityNodes",
    "autoScaleRun",
    "resizeOperationStatus",
}
# Every other property changes only while the pool is Steady at zero nodes.


def _account_id(call: Call) -> str:
    p = call.params
    return (
        f"/subscriptions/{p['sub']}/resourceGroups/{p['rg']}/providers/{PROVIDER}"
        f"/batchAccounts/{p['account']}"
    )


def _pool_id(call: Call) -> str:
    return f"{_account_id(call)}/pools/{call.params['pool']}"


def _etag(n: int) -> str:
    return f'W/"0x8DD{n:013X}"'


def _require_account(world: World, call: Call) -> dict[str, Any]:
    require_resource_group(world, call.params["sub"], call.params["rg"])
    account = get_alive(world, _account_id(call))
    if account is None:
        raise not_found(T_ACCOUNT, call.params["account"], call.params["rg"])
    return account


def _pool_not_found(call: Call) -> ArmError:
    return ArmError(
        404, "PoolNotFound", f"The specified pool '{call.params['pool']}' does not exist."
    )


# -- accounts -------------------------------------------------------------------------------


def account_get(world: World, call: Call) -> Result:
    return Result(200, public(_require_account(world, call)))


# -- allocation model ---------------------------------------------------------------------------


def image_id_of(props: dict[str, Any]) -> str | None:
    vmc = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration") or {}
    return (vmc.get("imageReference") or {}).get("id")


def _is_managed_image(image_id: str | None) -> bool:
    return bool(image_id) and "/providers/microsoft.compute/images/" in str(image_id).lower()


def _is_gallery_version(image_id: str | None) -> bool:
    return (
        bool(image_id)
        and re.search(
            r"/providers/microsoft\.compute/galleries/[^/]+/images/[^/]+/versions/[^/]+$",
            str(image_id).lower(),
        )
        is not None
    )


def targets_of(props: dict[str, Any]) -> tuple[int, int]:
    """(dedicated, low-priority) targets: fixed scale, or the literal an autoscale formula sets."""
    scale = props.get("scaleSettings") or {}
    if scale.get("autoScale"):
        formula = scale["autoScale"].get("formula", "")
        return _formula_target(formula, "TargetDedicatedNodes"), _formula_target(
            formula, "TargetLowPriorityNodes"
        )
    fixed = scale.get("fixedScale") or {}
    return int(fixed.get("targetDedicatedNodes") or 0), int(
        fixed.get("targetLowPriorityNodes") or 0
    )


def _formula_target(formula: str, name: str) -> int:
    # Only literal assignments are evaluated; anything else allocates 0 nodes.
    match = re.search(rf"\${name}\s*=\s*(\d+)\s*(;|$)", formula, re.IGNORECASE | re.MULTILINE)
    return int(match.group(1)) if match else 0


def resize_timeout_of(props: dict[str, Any]) -> float:
    fixed = (props.get("scaleSettings") or {}).get("fixedScale") or {}
    return parse_duration(fixed.get("resizeTimeout") or "PT15M")


def needed_seconds(
    world: World, pool_id: str, props: dict[str, Any], region: str, total: int
) -> float:
    """Time to allocate `total` nodes from zero under the model in the module docstring."""
    needed = 900.0 * total / 1000.0
    image_id = image_id_of(props)
    if _is_managed_image(image_id):
        needed = max(needed, 1800.0 if total > 300 else 1200.0)
    elif _is_gallery_version(image_id):
        version = get_alive(world, str(image_id))
        replicas = region_replicas(world, version, region, ready_only=True) if version else 0
        if replicas > 0:
            demand = _version_demand(world, str(image_id), region, pool_id, total)
            needed *= max(1.0, demand / (VMS_PER_REPLICA * replicas))
    return needed


def _version_demand(world: World, image_id: str, region: str, pool_id: str, own: int) -> int:
    """Nv: target nodes of every pool in `region` using `image_id` (this pool counts `own`).

    Answered from the store's pools-by-image index (`Tx.pools_using_image`): a sum over the
    pools on that image, not a read of every pool.
    """
    accounts = [
        a["id"]
        for a in world.tx.of_type(T_ACCOUNT)
        if region_key(a.get("location", "")) == region_key(region)
    ]
    fixed, autoscaling = world.tx.pools_using_image(image_id, accounts, world.now, pool_id)
    demand = own + fixed
    for rid in autoscaling:
        pool = world.tx.get(rid)
        if pool is not None:
            demand += sum(targets_of(pool["properties"]))
    return demand


def allocation_now(world: World, alloc: dict[str, Any] | None) -> dict[str, Any]:
    """Allocation state at simulated now from the stored resize record."""
    if not alloc:
        return {"state": "Steady", "dedicated": 0, "low": 0, "since": None, "errors": []}
    start = float(alloc["start"])
    timeout = float(alloc["timeout"])
    full = float(alloc["full"])
    d0, l0 = int(alloc["from_dedicated"]), int(alloc["from_low"])
    dt, lt = int(alloc["target_dedicated"]), int(alloc["target_low"])
    errors: list[dict[str, Any]] = []
    if alloc.get("failure"):
        end = start + min(timeout, world.config.durations.allocation_failure)
        if world.now < end:
            return {"state": "Resizing", "dedicated": d0, "low": l0, "since": start, "errors": []}
        errors.append({"code": "AllocationFailed", "message": alloc["failure"]})
        return {"state": "Steady", "dedicated": d0, "low": l0, "since": end, "errors": errors}
    completes = full <= timeout
    end = start + (full if completes else timeout)
    stopped = alloc.get("stopped_at")
    if stopped is not None and float(stopped) < end:
        end = float(stopped)
        errors.append(
            {"code": "ResizeStopped", "message": "The user stopped the resize operation."}
        )
        completes = False
    t = min(world.now, end)
    frac = 1.0 if full <= 0 else min(1.0, (t - start) / full)
    if world.now >= end and completes:
        frac = 1.0
    dedicated = d0 + int((dt - d0) * frac)
    low = l0 + int((lt - l0) * frac)
    if world.now < end:
        return {
            "state": "Resizing",
            "dedicated": dedicated,
            "low": low,
            "since": start,
            "errors": [],
        }
    if not completes and not errors:
        errors.append(
            {
                "code": "AllocationTimedOut",
                "message": "Desired number of dedicated nodes could not be allocated as the resize "
                "timeout was reached",
            }
        )
    return {"state": "Steady", "dedicated": dedicated, "low": low, "since": end, "errors": errors}


def _start_resize(
    world: World, pool: dict[str, Any], account: dict[str, Any], *, creating: bool = False
) -> None:
    """Begin a resize from the nodes the pool has now to its current targets (`creating`:
    the pool's first allocation, which reads Resizing for a while even with no nodes)."""
    props = pool["properties"]
    current = allocation_now(world, pool["_sys"].get("alloc"))
    d0, l0 = current["dedicated"], current["low"]
    dt, lt = targets_of(props)
    timeout = (
        resize_timeout_of(props)
        if not (props.get("scaleSettings") or {}).get("autoScale")
        else DEFAULT_RESIZE_TIMEOUT
    )
    total = dt + lt
    grow = max(0, dt - d0) + max(0, lt - l0)
    if grow > 0:
        full = needed_seconds(world, pool["id"], props, account["location"], total) * grow / total
        # a `slow` fault makes this allocation slower than the sizing rules predict
        full *= world.effects.slow_factor
    elif (dt, lt) != (d0, l0):
        full = world.config.durations.node_removal
    else:
        full = 0.0
    if creating:
        full = max(full, world.config.durations.pool_create)
    image_id = image_id_of(props)
    failure = None
    image = get_alive(world, image_id) if image_id else None
    if grow > 0 and image_id and image is None:
        failure = (
            f"The image resource '{image_id}' of the pool no longer exists; "
            "allocation of compute nodes failed."
        )
    elif (
        grow > 0
        and image is not None
        and _is_gallery_version(image_id)
        and region_replicas(world, image, account["location"], ready_only=True) == 0
    ):
        failure = (
            f"The gallery image version '{image_id}' has no replica ready in region "
            f"'{account['location']}' yet; allocation of compute nodes failed."
        )
    pool["_sys"]["alloc"] = {
        "start": world.now,
        "from_dedicated": d0,
        "from_low": l0,
        "target_dedicated": dt,
        "target_low": lt,
        "timeout": timeout,
        "full": full,
        "failure": failure,
        "stopped_at": None,
    }


# -- pools ----------------------------------------------------------------------------------------


@cache
def _secret_paths() -> tuple[tuple[str, ...], ...]:
    return tuple(f.path for f in writable_fields(SurfaceKind.POOL) if f.secret)


def _drop(node: Any, path: tuple[str, ...]) -> None:
    if not path:
        return
    head, rest = path[0], path[1:]
    if head == "[]":
        for item in node if isinstance(node, list) else ():
            _drop(item, rest)
    elif isinstance(node, dict) and head in node:
        if rest:
            _drop(node[head], rest)
        else:
            del node[head]


def _render_pool(world: World, doc: dict[str, Any], call: Call | None) -> dict[str, Any]:
    out = json_copy(public(doc))
    props = out.get("properties") or {}
    for path in _secret_paths():
        if path[1] in props:
            _drop(out, path)  # Azure never returns a member it marks x-ms-secret
    sys_ = doc["_sys"]
    props = out["properties"]
    alloc = sys_.get("alloc")
    now_alloc = allocation_now(world, alloc)
    deleting = sys_.get("gone_at") is not None
    props["creationTime"] = iso(sys_["created"])
    props["lastModified"] = iso(sys_["modified"])
    props["provisioningState"] = "Deleting" if deleting else "Succeeded"
    props["provisioningStateTransitionTime"] = iso(sys_.get("deleting_since") or sys_["created"])
    props["allocationState"] = now_alloc["state"]
    props["allocationStateTransitionTime"] = iso(now_alloc["since"] or sys_["created"])
    props["currentDedicatedNodes"] = now_alloc["dedicated"]
    props["currentLowPriorityNodes"] = now_alloc["low"]
    if alloc:
        status: dict[str, Any] = {"targetDedicatedNodes": alloc["target_dedicated"]}
        if alloc["target_low"]:  # Azure leaves it out when 0
            status["targetLowPriorityNodes"] = alloc["target_low"]
        status.update(
            {
                "resizeTimeout": format_duration(alloc["timeout"]),
                "nodeDeallocationOption": "Requeue",
                "startTime": iso(alloc["start"]),
            }
        )
        if now_alloc["errors"]:
            status["errors"] = now_alloc["errors"]
        props["resizeOperationStatus"] = status
    scale = props.get("scaleSettings") or {}
    if scale.get("autoScale"):
        dt, lt = targets_of(doc["properties"])
        props["autoScaleRun"] = {
            "evaluationTime": iso(sys_.get("autoscale_at") or sys_["created"]),
            "results": f"$TargetDedicatedNodes={dt};$TargetLowPriorityNodes={lt};"
            "$NodeDeallocationOption=requeue",
        }
    return out


def pool_get(world: World, call: Call) -> Result:
    _require_account(world, call)
    doc = get_alive(world, _pool_id(call))
    if doc is None:
        raise _pool_not_found(call)
    return Result(200, _render_pool(world, doc, call), {"ETag": doc["etag"]})


def pool_list(world: World, call: Call) -> Result:
    account = _require_account(world, call)
    return paged(world, call, visible(world, world.tx.children(account["id"], T_POOL), call))


def _check_preconditions(call: Call, existing: dict[str, Any] | None) -> None:
    if_match = call.headers.get("if-match")
    if if_match:
        if existing is None:
            raise ArmError(
                412,
                "ConditionNotMet",
                "The condition specified using HTTP conditional header(s) is not met: "
                "the pool does not exist.",
            )
        if if_match.strip() != "*" and if_match.strip() != existing["etag"]:
            raise ArmError(
                412,
                "ConditionNotMet",
                "The condition specified using HTTP conditional header(s) is not met: "
                f"the pool's ETag is {existing['etag']}.",
            )
    if_none = call.headers.get("if-none-match")
    if if_none and if_none.strip() == "*" and existing is not None:
        raise ArmError(
            412,
            "ConditionNotMet",
            "The condition specified using HTTP conditional header(s) is not met: "
            "the pool already exists.",
        )


def _invalid(message: str, target: str) -> ArmError:
    return ArmError(400, "InvalidPropertyValue", message, target=target)


def _validate(
    world: World,
    props: dict[str, Any],
    account: dict[str, Any],
    old: dict[str, Any] | None = None,
) -> None:
    if not props.get("vmSize"):
        raise ArmError(
            400,
            "MissingRequiredProperty",
            "The property 'vmSize' is required.",
            target="properties.vmSize",
        )
    vmc = (props.get("deploymentConfiguration") or {}).get("virtualMachineConfiguration")
    if not vmc or not vmc.get("imageReference") or not vmc.get("nodeAgentSkuId"):
        raise ArmError(
            400,
            "MissingRequiredProperty",
            "deploymentConfiguration.virtualMachineConfiguration with imageReference and "
            "nodeAgentSkuId is required.",
            target="properties.deploymentConfiguration.virtualMachineConfiguration",
        )
    _validate_reference(vmc["imageReference"])
    scale = props.get("scaleSettings") or {}
    if scale.get("fixedScale") and scale.get("autoScale"):
        raise _invalid(
            "Only one of fixedScale and autoScale may be specified.", "properties.scaleSettings"
        )
    fixed = scale.get("fixedScale") or {}
    if fixed.get("resizeTimeout") is not None:
        try:
            timeout = parse_duration(fixed["resizeTimeout"])
        except ValueError as exc:
            raise _invalid(
                f"'{fixed['resizeTimeout']}' is not a valid duration.",
                "properties.scaleSettings.fixedScale.resizeTimeout",
            ) from exc
        if timeout < MIN_RESIZE_TIMEOUT:
            raise _invalid(
                "The resize timeout must be at least 5 minutes (PT5M).",
                "properties.scaleSettings.fixedScale.resizeTimeout",
            )
    auto = scale.get("autoScale") or {}
    if scale.get("autoScale") is not None and not auto.get("formula"):
        raise ArmError(
            400,
            "MissingRequiredProperty",
            "The autoscale formula is required.",
            target="properties.scaleSettings.autoScale.formula",
        )
    if (
        auto.get("evaluationInterval")
        and parse_duration(auto["evaluationInterval"]) < MIN_RESIZE_TIMEOUT
    ):
        raise _invalid(
            "The autoscale evaluation interval must be at least 5 minutes.",
            "properties.scaleSettings.autoScale.evaluationInterval",
        )
    for value in targets_of(props):
        if value < 0:
            raise _invalid("Target node counts must not be negative.", "properties.scaleSettings")
    # The image is checked when it is chosen; once it is gone, only resizes fail (R6).
    if old is None or not same(image_id_of(old) or "", image_id_of(props) or ""):
        _validate_image(world, image_id_of(props), account)


_REFERENCE = "properties.deploymentConfiguration.virtualMachineConfiguration.imageReference"
_IMAGE_IDS = ("id", "sharedGalleryImageId", "communityGalleryImageId")
_MARKETPLACE = ("publisher", "offer", "sku")


def _validate_reference(reference: dict[str, Any]) -> None:
    """An image is named by exactly one id member, or by a Marketplace publisher, offer and
    sku (version optional, `latest` by default). The Marketplace catalogue is not modelled:
    any names are accepted, as Batch accepts them until it allocates nodes."""
    named = [m for m in _IMAGE_IDS if reference.get(m)]
    marketplace = [m for m in (*_MARKETPLACE, "version") if reference.get(m)]
    if len(named) > 1 or (named and marketplace):
        raise _invalid(
            f"The image reference properties {', '.join([*named, *marketplace])} are mutually "
            "exclusive: give one image id, or a Marketplace publisher, offer and sku.",
            _REFERENCE,
        )
    if named:
        return
    missing = [m for m in _MARKETPLACE if not reference.get(m)]
    if missing:
        raise ArmError(
            400,
            "MissingRequiredProperty",
            f"The image reference needs an id, or a Marketplace publisher, offer and sku; "
            f"'{missing[0]}' is missing.",
            target=f"{_REFERENCE}.{missing[0]}",
        )


def _validate_image(world: World, image_id: str | None, account: dict[str, Any]) -> None:
    target = f"{_REFERENCE}.id"
    if not image_id:
        return  # a Marketplace image, or a shared or community gallery's
    account_sub, _ = scope_of(account["id"])
    image_sub, _ = scope_of(image_id)
    image = get_alive(world, image_id)
    if image is None:
        raise _invalid(f"The image '{image_id}' does not exist.", target)
    if image_sub != account_sub:
        raise _invalid("The image must be in the same subscription as the Batch account.", target)
    if image["type"].lower() == T_VERSION.lower():
        definition = world.tx.get(image_id.rsplit("/versions/", 1)[0])
        if (
            definition is not None
            and definition["type"].lower() == T_DEFINITION.lower()
            and not same(definition["properties"].get("osState"), "Generalized")
        ):
            raise _invalid("Only generalized gallery images can be used for Batch pools.", target)
        if region_replicas(world, image, account["location"]) < 1:
            raise _invalid(
                f"The gallery image version '{image_id}' has no replica in the Batch account's "
                f"region '{account['location']}'; it must have replicas in the same region as "
                "the Batch account.",
                target,
            )
    elif image["type"].lower() == T_IMAGE.lower():
        if region_key(image["location"]) != region_key(account["location"]):
            raise _invalid(
                "The managed image must be in the same region as the Batch account.", target
            )
    else:
        raise _invalid(f"'{image_id}' is not an image resource.", target)


def _normalise(props: dict[str, Any]) -> dict[str, Any]:
    props = {k: v for k, v in props.items() if k not in READ_ONLY}
    if isinstance(props.get("vmSize"), str):
        # Azure answers the size upper-cased (`Standard_A1` comes back `STANDARD_A1`).
        props["vmSize"] = props["vmSize"].upper()
    scale = props.get("scaleSettings")
    if not scale or not (scale.get("fixedScale") or scale.get("autoScale")):
        props["scaleSettings"] = {
            "fixedScale": {
                "targetDedicatedNodes": 0,
                "targetLowPriorityNodes": 0,
                "resizeTimeout": "PT15M",
            }
        }
    elif scale.get("fixedScale"):
        fixed = dict(scale["fixedScale"])
        fixed.setdefault("resizeTimeout", "PT15M")
        fixed.setdefault("targetDedicatedNodes", 0)
        fixed.setdefault("targetLowPriorityNodes", 0)
        props["scaleSettings"] = {"fixedScale": fixed}
    else:
        auto = dict(scale["autoScale"])
        auto.setdefault("evaluationInterval", "PT15M")
        props["scaleSettings"] = {"autoScale": auto}
    if props.get("startTask") == {}:
        del props["startTask"]  # `startTask: {}` removes it
    for name in [k for k, v in props.items() if v == [] or v == {}]:
        if name not in ("metadata", "scaleSettings"):
            del props[name]  # an empty list or object takes the member away
    # Defaults the service fills in (every Pool example of Batch 2025-06-01 shows them).
    props.setdefault("taskSlotsPerNode", 1)
    props.setdefault("interNodeCommunication", "Disabled")
    props.setdefault("taskSchedulingPolicy", {"nodeFillType": "Spread"})
    return props


def _check_changes(
    world: World, old: dict[str, Any], new: dict[str, Any], pool: dict[str, Any], keys: set[str]
) -> None:
    """Refuse changes the current allocation does not allow (see ALWAYS_UPDATABLE)."""
    changed = sorted(
        k
        for k in keys
        if k not in ALWAYS_UPDATABLE and k not in READ_ONLY and old.get(k) != new.get(k)
    )
    if not changed:
        return
    now = allocation_now(world, pool["_sys"].get("alloc"))
    if now["state"] != "Steady" or now["dedicated"] or now["low"]:
        raise ArmError(
            409,
            "PropertyCannotBeUpdated",
            f"The properties {', '.join(changed)} can only be updated when the pool is Steady "
            f"with 0 dedicated and 0 low-priority nodes (now {now['state']} with "
            f"{now['dedicated']} dedicated and {now['low']} low-priority nodes).",
            target=f"properties.{changed[0]}",
        )


def _write_pool(
    world: World,
    call: Call,
    pool: dict[str, Any],
    account: dict[str, Any],
    old_props: dict[str, Any] | None,
    *,
    scale_given: bool = False,
) -> Result:
    """Store a created/updated pool; a request carrying scaleSettings resizes it.

    Like Azure's Pool_Update, any fixedScale sent to a Steady pool that is not at its
    targets starts a resize (this is how a pool that stopped short is re-issued); sending
    new targets while it is still Resizing is refused.
    """
    props = pool["properties"]
    old_targets = targets_of(old_props) if old_props is not None else None
    current = allocation_now(world, pool["_sys"].get("alloc"))
    new_targets = targets_of(props)
    if old_props is None or scale_given:
        if current["state"] == "Resizing" and old_props is not None:
            if new_targets != old_targets:
                raise ArmError(
                    409,
                    "PoolBeingResized",
                    "The specified pool is currently being resized; wait for the resize "
                    "to complete or stop it before resizing again.",
                )
        else:
            if (props.get("scaleSettings") or {}).get("autoScale"):
                pool["_sys"]["autoscale_at"] = world.now
            if old_props is None or new_targets != (current["dedicated"], current["low"]):
                _start_resize(world, pool, account, creating=old_props is None)
    counter = world.tx.bump("etag")
    pool["etag"] = _etag(counter)
    pool["_sys"]["modified"] = world.now
    world.tx.put(pool["id"], T_POOL, account["id"], pool)
    return Result(200, _render_pool(world, pool, call), {"ETag": pool["etag"]})


def _refuse_if_deleting(pool: dict[str, Any] | None) -> None:
    if pool is not None and pool["_sys"].get("gone_at") is not None:
        raise ArmError(409, "PoolBeingDeleted", "The specified pool is being deleted.")


def pool_put(world: World, call: Call) -> Result:
    account = _require_account(world, call)
    body = request_body(call, "Pool_Create", code="InvalidRequestBody")
    existing = get_alive(world, _pool_id(call))
    _check_preconditions(call, existing)
    _refuse_if_deleting(existing)
    props = _normalise(dict(body.get("properties") or {}))
    _validate(world, props, account, existing["properties"] if existing else None)
    if existing is not None:
        old = existing["properties"]
        _check_changes(world, old, props, existing, set(old) | set(props))
        pool = existing
        pool["properties"] = props
        for key in ("tags", "identity"):  # a PUT replaces the whole pool
            if body.get(key):
                pool[key] = body[key]
            else:
                pool.pop(key, None)
        return _write_pool(world, call, pool, account, old, scale_given=True)
    pool = {
        "id": _pool_id(call),
        "name": call.params["pool"],
        "type": T_POOL,
        "etag": "",
        "properties": props,
        "_sys": {"created": world.now, "modified": world.now, "account": account["id"]},
    }
    for key in ("tags", "identity"):
        if body.get(key):
            pool[key] = body[key]
    return _write_pool(world, call, pool, account, None)


def pool_patch(world: World, call: Call) -> Result:
    account = _require_account(world, call)
    body = request_body(call, "Pool_Update", code="InvalidRequestBody")
    existing = get_alive(world, _pool_id(call))
    _check_preconditions(call, existing)
    if existing is None:
        raise _pool_not_found(call)
    _refuse_if_deleting(existing)
    old = copy.deepcopy(existing["properties"])
    given = {k: v for k, v in (body.get("properties") or {}).items() if k not in READ_ONLY}
    merged = dict(old)
    merged.update(given)
    if given.get("scaleSettings"):
        # a PATCH of scaleSettings replaces the scale mode it names
        merged["scaleSettings"] = given["scaleSettings"]
    props = _normalise(merged)
    _validate(world, props, account, old)
    _check_changes(world, old, props, existing, set(given))
    existing["properties"] = props
    if "tags" in body and body["tags"] is not None:
        existing["tags"] = body["tags"]
    # Identity may change while the pool has nodes (Microsoft advises against it: nodes keep
    # the identities they started with until they are recreated).
    if body.get("identity") is not None:
        existing["identity"] = body["identity"]
        if str(body["identity"].get("type", "")).lower() == "none":
            del existing["identity"]  # `{"type": "None"}` removes the identity
    return _write_pool(world, call, existing, account, old, scale_given="scaleSettings" in given)


def pool_delete(world: World, call: Call) -> Result:
    _require_account(world, call)
    pool = get_alive(world, _pool_id(call))
    if pool is None:
        return Result(204)
    _check_preconditions(call, pool)
    d = world.config.durations
    if pool["_sys"].get("gone_at") is not None:
        remaining = max(0.0, float(pool["_sys"]["gone_at"]) - world.now)
    else:
        remaining = d.pool_delete
    op, headers = world.start_operation(
        call,
        provider=PROVIDER,
        location="global",
        resource_id=pool["id"],
        kind="delete",
        duration=remaining,
    )
    if op["failure"] is None and pool["_sys"].get("gone_at") is None:
        pool["_sys"]["gone_at"] = float(op["end"])
        pool["_sys"]["deleting_since"] = world.now
        world.tx.put(pool["id"], T_POOL, pool["_sys"]["account"], pool)
    # Batch answers pool deletion with a Location monitor only.
    return Result(202, None, {"Location": headers["Location"], "Retry-After": "0"})


def pool_stop_resize(world: World, call: Call) -> Result:
    account = _require_account(world, call)
    pool = get_alive(world, _pool_id(call))
    if pool is None:
        raise _pool_not_found(call)
    alloc = pool["_sys"].get("alloc")
    if alloc and allocation_now(world, alloc)["state"] == "Resizing":
        alloc["stopped_at"] = world.now
    return _write_pool(world, call, pool, account, pool["properties"])


def pool_disable_autoscale(world: World, call: Call) -> Result:
    account = _require_account(world, call)
    pool = get_alive(world, _pool_id(call))
    if pool is None:
        raise _pool_not_found(call)
    old = copy.deepcopy(pool["properties"])
    if (old.get("scaleSettings") or {}).get("autoScale"):
        dt, lt = targets_of(old)
        pool["properties"]["scaleSettings"] = {
            "fixedScale": {
                "targetDedicatedNodes": dt,
                "targetLowPriorityNodes": lt,
                "resizeTimeout": "PT15M",
            }
        }
    return _write_pool(world, call, pool, account, old)


def register(router: Router) -> None:
    router.add(
        "/subscriptions/{sub}/providers/Microsoft.Batch/batchAccounts",
        "BatchAccount_List",
        get=list_in_subscription(T_ACCOUNT),
    )
    router.add(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Batch/batchAccounts",
        "BatchAccount_ListByResourceGroup",
        get=list_in_group(T_ACCOUNT),
    )
    router.add(ACCOUNT, "BatchAccount_Get", get=account_get)
    router.add(ACCOUNT + "/pools", "Pool_ListByBatchAccount", get=pool_list)
    router.add(POOL, "Pool", get=pool_get, put=pool_put, patch=pool_patch, delete=pool_delete)
    router.add(POOL + "/stopResize", "Pool_StopResize", post=pool_stop_resize)
    router.add(POOL + "/disableAutoScale", "Pool_DisableAutoScale", post=pool_disable_autoscale)


RENDERERS[T_POOL.lower()] = _render_pool
