"""The Batch rules (DOMAIN.md R1–R14) and Azure's bounds that can be judged from the spec alone.

Each check is a function registered with `@rule(code, ...)`; it receives the
resolution `Context` (the `ResolvedSpec`, the validated models, positions) and yields
`Diagnostic`s. Codes, severities and titles live in `diagnostics.CODES`; the table in
`docs/rules.md` documents them, including the rules only the planner can judge.
Rules never raise on user input and never read anything but the context.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from reconciler.diagnostics import Diagnostic, diag
from reconciler.spec import ids
from reconciler.spec.resolved import AutoScale, FixedScale, ResolvedImage, ResolvedPool
from reconciler.spec.secrets import looks_secret, malformed_references, references
from reconciler.spec.sizing import (
    MANAGED_IMAGE_MAX_DEDICATED,
    MANAGED_IMAGE_MAX_SPOT,
    MAX_EVALUATION_INTERVAL_MINUTES,
    MAX_REPLICAS_PER_REGION,
    MIN_EVALUATION_INTERVAL_MINUTES,
    duration_seconds,
)

if TYPE_CHECKING:  # resolve runs the rules: a runtime import back would be a cycle
    from reconciler.spec.resolve import Context

Rule = Callable[["Context"], Iterator[Diagnostic]]
RULES: dict[str, Rule] = {}
#: Codes each registered rule may emit (a rule can own several related codes).
RULE_CODES: dict[str, tuple[str, ...]] = {}


def rule(*codes: str) -> Callable[[Rule], Rule]:
    """Register a check that emits the given codes."""

    def register(fn: Rule) -> Rule:
        RULES[fn.__name__] = fn
        RULE_CODES[fn.__name__] = codes
        return fn

    return register


def run_rules(ctx: Context) -> list[Diagnostic]:
    """Run every registered rule; the result is unsorted."""
    out: list[Diagnostic] = []
    for fn in RULES.values():
        out.extend(fn(ctx))
    return out


def _on_image(
    ctx: Context, pool: ResolvedPool, code: str, message: str, *, hint: str
) -> Diagnostic:
    """A problem with the image `pool` boots from, reported at the pool's `image:`."""
    return diag(code, message, hint=hint, address=pool.address, at=ctx.at(pool.address, "image"))


# --- sizing (R1, R2, R3, Azure's replica bound) ----------------------------------


@rule("RC101", "RC102")
def replicas(ctx: Context) -> Iterator[Diagnostic]:
    """R1: declared replicas must not be below the computed ones; Azure caps a region."""
    for version in ctx.spec.versions.values():
        model = ctx.models.get(version.address)
        declared_index: dict[str, int] = {}
        for i, declared in enumerate(model.targetRegions if model is not None else ()):
            declared_index.setdefault(ids.normalize_location(declared.name), i)
        for region, target in version.target_regions.items():
            sizing = target.sizing
            index = declared_index.get(region)
            if sizing.below_computed and index is not None:
                at = ctx.at(version.address, "targetRegions", index, "replicas")
                yield diag(
                    "RC101",
                    f"{version.address} declares {sizing.declared} replica(s) in {region}, "
                    f"fewer than the {sizing.computed} its pools need",
                    hint=f"{sizing.arithmetic}. Raise `replicas` to at least {sizing.computed} "
                    "or remove it to use the computed value",
                    address=version.address,
                    at=at,
                )
            if sizing.over_azure_max:
                at = (target.declared_at.file, target.declared_at.line, target.declared_at.col)
                yield diag(
                    "RC102",
                    f"{version.address} needs {sizing.final} replicas in {region}; "
                    f"Azure allows at most {MAX_REPLICAS_PER_REGION} per image version and region",
                    hint=f"{sizing.arithmetic}. Spread the pools over several image versions "
                    "(or definitions) so each serves fewer VMs, or move some pools to another "
                    "region",
                    address=version.address,
                    at=at,
                )


@rule("RC103", "RC105")
def resize_timeouts(ctx: Context) -> Iterator[Diagnostic]:
    """R2/R3: declared resizeTimeout must cover the computed minimum; autoscale ignores it."""
    for pool in ctx.spec.pools.values():
        sizing = pool.resize_timeout
        if sizing is not None and sizing.below_computed:
            yield diag(
                "RC103",
                f"{pool.address} declares resizeTimeout {sizing.declared}, shorter than the "
                f"{sizing.computed_minutes} minutes it needs",
                hint=f"{sizing.arithmetic}. Raise it to at least PT{sizing.computed_minutes}M "
                "or remove it to use the computed value",
                address=pool.address,
                at=ctx.at(pool.address, "scale", "fixed", "resizeTimeout"),
            )
        model = ctx.models.get(pool.address)
        auto = model.scale.autoScale if model is not None else None
        if auto is not None and auto.resizeTimeout is not None:
            yield diag(
                "RC105",
                f"{pool.address} is an autoscale pool; resizeTimeout {auto.resizeTimeout} "
                "is ignored",
                hint="Batch applies resizeTimeout to fixed-scale pools only; remove it",
                address=pool.address,
                at=ctx.at(pool.address, "scale", "autoScale", "resizeTimeout", key=True),
            )


# --- gallery images (R8, R9, R13, Azure) ------------------------------------------


@rule("RC201", "RC202", "RC203", "RC215")
def gallery_pools(ctx: Context) -> Iterator[Diagnostic]:
    """R8 generalized only; R9 same subscription and a replica in the account's region."""
    spec = ctx.spec
    for pool in spec.pools.values():
        ref = pool.image
        if ref.image_kind != "galleryImageVersion":
            continue
        if pool.address in ctx.unresolved:
            # The version is unknown; only the definition (if valid) can be judged.
            image = spec.images.get(ctx.unresolved[pool.address] or "")
            if image is not None and image.os_state == "Specialized":
                yield _specialized(ctx, pool, image.address, image)
            continue
        version = spec.versions.get(ref.address) if ref.address else None
        if version is None:
            parsed = ids.parse_id(ref.id)
            if parsed and parsed.subscription.lower() != pool.subscription.lower():
                yield _subscription_mismatch(ctx, pool, parsed.subscription)
            continue
        image = spec.images.get(version.image_address)
        if image is not None and image.os_state == "Specialized":
            yield _specialized(ctx, pool, version.address, image)
        if version.subscription.lower() != pool.subscription.lower():
            yield _subscription_mismatch(ctx, pool, version.subscription)
        if pool.location not in version.target_regions:
            regions = ", ".join(version.target_regions) or "none"
            yield _on_image(
                ctx,
                pool,
                "RC203",
                f"{pool.address} runs in {pool.location}, but {version.address} has no replica "
                f"there (target regions: {regions})",
                hint=f"add `- {{name: {pool.location}}}` to targetRegions of {version.address}; "
                "its replicas are then computed from the pools there",
            )
        eol = version.end_of_life_date
        if eol is not None and eol < ctx.today:
            yield _on_image(
                ctx,
                pool,
                "RC215",
                f"{pool.address} uses {version.address}, past its endOfLifeDate {eol.isoformat()}",
                hint="move the pool to a newer version, or extend endOfLifeDate",
            )


def _specialized(ctx: Context, pool: ResolvedPool, via: str, image: ResolvedImage) -> Diagnostic:
    uses = via if via == image.address else f"{via}, whose definition {image.address}"
    return _on_image(
        ctx,
        pool,
        "RC201",
        f"{pool.address} uses {uses} is Specialized",
        hint="Batch pools can only use Generalized gallery images: publish the image "
        "in a definition with `osState: Generalized` (a new definition; osState "
        "cannot change)",
    )


def _subscription_mismatch(ctx: Context, pool: ResolvedPool, image_sub: str) -> Diagnostic:
    return _on_image(
        ctx,
        pool,
        "RC202",
        f"{pool.address} is in subscription {pool.subscription}, its gallery image in "
        f"{image_sub}",
        hint="the gallery image must be in the same subscription as the Batch account: "
        "publish a version in a gallery of that subscription",
    )


# Sources that are not snapshots of a VM's disks nor an image already (R13 prefers
# snapshots; a VM, a managed disk or an uploaded VHD is allowed), as a message says them.
_NOT_SNAPSHOTS: dict[str, str] = {
    "virtualMachine": "captured from a virtual machine",
    "vhd": "built from uploaded VHDs",
    "osDiskManagedDisk": "built from managed disks",
    "osDiskBlobUri": "built from uploaded VHDs",
}
_OS_DISK_LABEL: dict[str, str] = {
    "osDiskSnapshot": "base snapshot",
    "osDiskManagedDisk": "managed disk",
    "osDiskBlobUri": "VHD",
}


def _not_snapshots(ctx: Context, address: str, kind: str, prefer: str) -> Iterator[Diagnostic]:
    """RC213 for an image whose source is of `kind`, when that is not snapshots; `prefer`
    is the snapshot source to suggest instead."""
    if kind in _NOT_SNAPSHOTS:
        yield diag(
            "RC213",
            f"{address} is {_NOT_SNAPSHOTS[kind]}",
            hint="images built from snapshots of the VM's disks scale most reliably; "
            f"prefer `source: {prefer}`",
            address=address,
            at=ctx.at(address, "source", kind),
        )


@rule("RC213", "RC216", "RC217")
def versions(ctx: Context) -> Iterator[Diagnostic]:
    """R13 snapshots preferred; Azure: home region replicated; source matches definition."""
    spec = ctx.spec
    for managed in spec.managed_images.values():
        yield from _not_snapshots(
            ctx, managed.address, managed.source.kind, "{osDiskSnapshot: ...}"
        )
    for version in spec.versions.values():
        model = ctx.models.get(version.address)
        yield from _not_snapshots(
            ctx, version.address, version.source.kind, "{snapshots: {osDisk: ...}}"
        )
        if (
            model is not None
            and model.targetRegions
            and version.location not in version.target_regions
        ):
            yield diag(
                "RC216",
                f"{version.address} lives in {version.location} (its gallery's region) but "
                "targetRegions do not include it",
                hint=f"add `- {{name: {version.location}}}` to targetRegions; Azure requires "
                "the image version's own region among them",
                address=version.address,
                at=ctx.at(version.address, "targetRegions"),
            )
        depends = version.source.depends_on
        image = spec.images.get(version.image_address)
        source_image = spec.managed_images.get(depends) if depends else None
        if image is not None and source_image is not None:
            problems = []
            if source_image.os_type != image.os_type:
                problems.append(f"osType {source_image.os_type} vs {image.os_type}")
            if (source_image.hyper_v_generation or "V1") != (image.hyper_v_generation or "V1"):
                problems.append(
                    f"hyperVGeneration {source_image.hyper_v_generation or 'V1'} vs "
                    f"{image.hyper_v_generation or 'V1'}"
                )
            if problems:
                yield diag(
                    "RC217",
                    f"{version.address} is built from {source_image.address}, which does not "
                    f"match its definition: {'; '.join(problems)}",
                    hint="use a source image of the same OS type and Hyper-V generation, "
                    "or publish it in a matching definition",
                    address=version.address,
                    at=ctx.at(version.address, "source"),
                )


# --- managed images (R4, R5, R7, R10) -------------------------------------------


@rule("RC204", "RC205", "RC207")
def managed_image_pools(ctx: Context) -> Iterator[Diagnostic]:
    """R7 legacy warning; R10 same subscription and region as the Batch account."""
    spec = ctx.spec
    for pool in spec.pools.values():
        ref = pool.image
        if not ref.is_managed_image:
            continue
        image = spec.managed_images.get(ref.address) if ref.address else None
        name = image.name if image else (ref.managed_image or "the managed image")
        yield _on_image(
            ctx,
            pool,
            "RC207",
            f"{pool.address} boots from managed image {name}; creating pools from managed "
            "images is not supported after 31 March 2026",
            hint="migrate: add a gallery image version with `source: {managedImage: <its id>}` "
            "(or the same snapshots) in a Generalized definition, then point the pool at "
            "`image: {gallery: ..., definition: ..., version: latest}`. An existing pool may "
            "be kept; `plan` refuses to create a new one",
        )
        if pool.address in ctx.unresolved:
            continue  # where the image lives is unknown
        location: str | None
        subscription: str | None
        if image is not None:
            location, subscription = image.location, image.subscription
        else:
            parsed = ids.parse_id(ref.id)
            location, subscription = None, (parsed.subscription if parsed else None)
        if subscription is not None and subscription.lower() != pool.subscription.lower():
            yield _on_image(
                ctx,
                pool,
                "RC205",
                f"{pool.address} is in subscription {pool.subscription}, managed image {name} "
                f"in {subscription}",
                hint="a managed image must be in the Batch account's subscription and region; "
                "better, publish it to a gallery (R7)",
            )
        if location is not None and location != pool.location:
            yield _on_image(
                ctx,
                pool,
                "RC204",
                f"{pool.address} runs in {pool.location}, managed image {name} is in {location}",
                hint="a managed image must be in the Batch account's region; a gallery image "
                "only needs a replica there (R9)",
            )


@rule("RC208", "RC209", "RC210")
def managed_image_sharing(ctx: Context) -> Iterator[Diagnostic]:
    """R5 one managed image (and base snapshot) per pool; R4 node limits per image."""
    spec = ctx.spec
    by_image: dict[str, list[ResolvedPool]] = {}
    for pool in spec.pools.values():
        if pool.image.is_managed_image and pool.address not in ctx.unresolved:
            by_image.setdefault(ids.normalize_id(pool.image.id), []).append(pool)
    for pools in by_image.values():
        if len(pools) > 1:
            names = ", ".join(p.address for p in pools)
            for pool in pools[1:]:
                yield _on_image(
                    ctx,
                    pool,
                    "RC208",
                    f"managed image {pool.image.managed_image or pool.image.id} is shared by "
                    f"{len(pools)} pools ({names})",
                    hint="use a distinct managed image per pool, or move the pools to a "
                    "gallery image, which many pools may share",
                )
    # Group by base snapshot (spec images) or by image id (images the spec does not hold).
    groups: dict[str, list[ResolvedPool]] = {}
    label: dict[str, str] = {}
    for key, pools in by_image.items():
        first = pools[0]
        image = spec.managed_images.get(first.image.address) if first.image.address else None
        if image is not None and image.source.kind != "virtualMachine":
            # Images built from one OS disk (snapshot, managed disk or VHD) share it.
            base = ids.normalize_id(image.source.os_disk)
            parsed = ids.parse_id(image.source.os_disk)
            what = _OS_DISK_LABEL[image.source.kind]
            label[base] = f"{what} {parsed.name if parsed else image.source.os_disk}"
        else:
            base = key
            label[base] = f"managed image {first.image.managed_image or first.image.id}"
        groups.setdefault(base, []).extend(pools)
    for base, pools in groups.items():
        images = {ids.normalize_id(p.image.id) for p in pools}
        if len(images) > 1:
            names = ", ".join(sorted({p.image.managed_image or p.image.id for p in pools}))
            yield _on_image(
                ctx,
                pools[-1],
                "RC209",
                f"managed images {names} share the {label[base]} and back " f"{len(pools)} pools",
                hint="images from one base snapshot share node limits and caches; build each "
                "pool's image from its own snapshot, or use a gallery image",
            )
        dedicated = [
            (p, p.scale.dedicated if isinstance(p.scale, FixedScale) else p.scale.max_nodes)
            for p in pools
        ]
        spot = [(p, p.scale.low_priority) for p in pools if isinstance(p.scale, FixedScale)]
        for kind, counts, limit in (
            ("dedicated", dedicated, MANAGED_IMAGE_MAX_DEDICATED),
            ("spot/low-priority", spot, MANAGED_IMAGE_MAX_SPOT),
        ):
            total = sum(n for _, n in counts)
            if total > limit:
                parts = " + ".join(f"{p.address} ({n})" for p, n in counts)
                yield _on_image(
                    ctx,
                    pools[-1],
                    "RC210",
                    f"pools on {label[base]} ask for {total} {kind} nodes; managed-image pools "
                    f"are limited to {limit} in total per image",
                    hint=f"{parts} = {total} > {limit} (autoscale pools count maxNodes as "
                    "dedicated; inbound NAT pools may lower the limit). Move pools to a "
                    "gallery image, which has no such limit",
                )


# --- node agent (R12) -------------------------------------------------------------


@rule("RC206")
def node_agent(ctx: Context) -> Iterator[Diagnostic]:
    """R12: nodeAgentSkuId must match the image's OS."""
    spec = ctx.spec
    for pool in spec.pools.values():
        sku = pool.node_agent_sku_id
        if not sku.lower().startswith("batch.node."):
            yield diag(
                "RC206",
                f"{pool.address}: nodeAgentSkuId {sku!r} is not a Batch node agent SKU",
                hint="node agent SKUs look like `batch.node.ubuntu 22.04` or "
                "`batch.node.windows amd64`",
                address=pool.address,
                at=ctx.at(pool.address, "nodeAgentSkuId"),
            )
            continue
        os_type = None
        target = spec.get(pool.image.address) if pool.image.address else None
        if pool.address in ctx.unresolved:
            # The version is unknown, but a valid definition still says the OS.
            image = spec.images.get(ctx.unresolved[pool.address] or "")
            os_type = image.os_type if image else None
        elif target is not None and pool.image.image_kind == "galleryImageVersion":
            image = spec.images.get(target.image_address)  # type: ignore[union-attr]
            os_type = image.os_type if image else None
        elif target is not None:
            os_type = target.os_type  # type: ignore[union-attr]
        if os_type is None:
            continue
        is_windows = "windows" in sku.lower()
        if (os_type == "Windows") != is_windows:
            expected = (
                "batch.node.windows amd64"
                if os_type == "Windows"
                else "batch.node.<distro> <version>, e.g. batch.node.ubuntu 22.04"
            )
            yield diag(
                "RC206",
                f"{pool.address}: nodeAgentSkuId {sku!r} does not match its {os_type} image",
                hint=f"use a {os_type} node agent SKU ({expected}) matching the image's "
                "distribution",
                address=pool.address,
                at=ctx.at(pool.address, "nodeAgentSkuId"),
            )


# --- secrets ----------------------------------------------------------------------


@rule("RC301", "RC302")
def secrets(ctx: Context) -> Iterator[Diagnostic]:
    """Secrets stay out of the spec: ${env:NAME} references, never literals."""
    for pool in ctx.spec.pools.values():
        task = pool.start_task
        if task is None:
            continue
        for bad in malformed_references(task.command_line):
            yield diag(
                "RC302",
                f"{pool.address}: malformed secret reference {bad!r} in startTask.commandLine",
                hint="write references as ${env:NAME} (NAME: letters, digits, underscore)",
                address=pool.address,
                at=ctx.at(pool.address, "startTask", "commandLine"),
            )
        for key, value in task.environment.items():
            for bad in malformed_references(value):
                yield diag(
                    "RC302",
                    f"{pool.address}: malformed secret reference {bad!r} in "
                    f"startTask.environment.{key}",
                    hint="write references as ${env:NAME} (NAME: letters, digits, underscore)",
                    address=pool.address,
                    at=ctx.at(pool.address, "startTask", "environment", key),
                )
            if (
                looks_secret(key)
                and value
                and not references(value)
                and not malformed_references(value)
            ):
                yield diag(
                    "RC301",
                    f"{pool.address}: startTask.environment.{key} looks like a secret but is "
                    "written in the spec",
                    hint=f'keep secrets out of git: `{key}: "${{env:{key}}}"` and export '
                    f"{key} where `reconcile apply` runs",
                    address=pool.address,
                    at=ctx.at(pool.address, "startTask", "environment", key),
                )


# --- Azure bounds on pools -----------------------------------------------------------

_RESERVED_BACKEND = (29876, 29877)
_RESERVED_FRONTEND = (50000, 55000)
_MAX_NAT_POOLS = 5
_NODES_PER_PUBLIC_IP = 100


@rule("RC401", "RC402", "RC403")
def networks(ctx: Context) -> Iterator[Diagnostic]:
    """Batch's endpoint and public IP rules (Pool API, 2025-06-01)."""
    for pool in ctx.spec.pools.values():
        net = pool.network
        if net is None:
            continue
        nat = net.inbound_nat_pools
        if len(nat) > _MAX_NAT_POOLS:
            yield diag(
                "RC401",
                f"{pool.address} has {len(nat)} inbound NAT pools; Batch allows {_MAX_NAT_POOLS}",
                address=pool.address,
                at=ctx.at(pool.address, "network", "inboundNatPools"),
            )
        seen_names: set[str] = set()
        seen_ports: set[int] = set()
        ranges: list[tuple[int, int, str]] = []
        for i, p in enumerate(nat):
            at = ctx.at(pool.address, "network", "inboundNatPools", i)
            problems = []
            if p.name.lower() in seen_names:
                problems.append(f"name {p.name!r} is used twice")
            if p.backend_port in _RESERVED_BACKEND:
                problems.append(f"backendPort {p.backend_port} is reserved (29876, 29877)")
            if p.backend_port in seen_ports:
                problems.append(f"backendPort {p.backend_port} is used twice")
            start, end = p.frontend_port_range_start, p.frontend_port_range_end
            if start > end:
                problems.append(f"frontendPortRangeStart {start} > frontendPortRangeEnd {end}")
            if start <= _RESERVED_FRONTEND[1] and end >= _RESERVED_FRONTEND[0]:
                problems.append(f"frontend ports {start}-{end} overlap the reserved 50000-55000")
            for other_start, other_end, other in ranges:
                if start <= other_end and end >= other_start:
                    problems.append(f"frontend ports {start}-{end} overlap {other}'s")
            seen_names.add(p.name.lower())
            seen_ports.add(p.backend_port)
            ranges.append((start, end, p.name))
            for problem in problems:
                yield diag(
                    "RC401",
                    f"{pool.address}: inbound NAT pool {p.name}: {problem}",
                    hint="backend ports must be unique and not 29876/29877; frontend ranges "
                    "must be distinct and avoid 50000-55000",
                    address=pool.address,
                    at=at,
                )
        mode = net.public_ip_address_provisioning_type
        if nat and mode == "NoPublicIPAddresses":
            yield diag(
                "RC403",
                f"{pool.address} has inbound NAT pools but publicIPAddressProvisioningType "
                "NoPublicIPAddresses",
                hint="inbound NAT pools need public IPs: remove them or use BatchManaged",
                address=pool.address,
                at=ctx.at(pool.address, "network", "inboundNatPools"),
            )
        if net.public_ips and mode != "UserManaged":
            yield diag(
                "RC402",
                f"{pool.address} lists publicIPs but publicIPAddressProvisioningType is "
                f"{mode or 'BatchManaged (default)'}",
                hint="publicIPs are used only with `publicIPAddressProvisioningType: UserManaged`",
                address=pool.address,
                at=ctx.at(pool.address, "network", "publicIPs"),
            )
        if mode == "UserManaged":
            scale = pool.scale
            if isinstance(scale, FixedScale):
                need = max(
                    math.ceil(scale.dedicated / _NODES_PER_PUBLIC_IP),
                    math.ceil(scale.low_priority / _NODES_PER_PUBLIC_IP),
                    1,
                )
            else:
                need = max(math.ceil(scale.max_nodes / _NODES_PER_PUBLIC_IP), 1)
            if len(net.public_ips) < need:
                yield diag(
                    "RC402",
                    f"{pool.address} has {len(net.public_ips)} public IP(s) for "
                    f"{pool.target_nodes} nodes; it needs at least {need}",
                    hint="each public IP serves at most 100 dedicated and 100 low-priority "
                    "nodes: add public IP ids, or use BatchManaged",
                    address=pool.address,
                    at=ctx.at(pool.address, "network", "publicIPAddressProvisioningType"),
                )


@rule("RC404")
def autoscale_interval(ctx: Context) -> Iterator[Diagnostic]:
    """Batch accepts evaluationInterval between 5 minutes and 168 hours."""
    for pool in ctx.spec.pools.values():
        scale = pool.scale
        if not isinstance(scale, AutoScale) or scale.evaluation_interval is None:
            continue
        minutes = duration_seconds(scale.evaluation_interval) / 60
        if not MIN_EVALUATION_INTERVAL_MINUTES <= minutes <= MAX_EVALUATION_INTERVAL_MINUTES:
            yield diag(
                "RC404",
                f"{pool.address}: evaluationInterval {scale.evaluation_interval} is outside "
                "5 minutes .. 168 hours",
                hint="use a value such as PT5M or PT15M",
                address=pool.address,
                at=ctx.at(pool.address, "scale", "autoScale", "evaluationInterval"),
            )


# Batch (Pool API 2025-06-01, `vmSize`): "Batch supports all Azure VM sizes except
# STANDARD_A0 and those with premium storage (STANDARD_GS, STANDARD_DS, and
# STANDARD_DSV2 series)."
_UNSUPPORTED_VM_SIZE = re.compile(r"^standard_(a0|gs\d+(-\d+)?|ds\d+(-\d+)?(_v2)?(_promo)?)$")
# Every Azure VM size is named `<tier>_<family><vCPUs>[<features>][_<version>]`, the tier
# Standard or Basic (`Standard_D4s_v5`, `Standard_NC24ads_A100_v4`); anything else is a
# typo Azure would refuse at create.
_VM_SIZE_NAME = re.compile(r"^(standard|basic)_[a-z]+\d", re.IGNORECASE)


@rule("RC405")
def vm_sizes(ctx: Context) -> Iterator[Diagnostic]:
    """A pool's vmSize must be an Azure VM size name, and not one Batch refuses (STANDARD_A0,
    the premium-storage GS, DS and DSv2 series)."""
    for pool in ctx.spec.pools.values():
        if not _VM_SIZE_NAME.match(pool.vm_size):
            message = f"{pool.vm_size!r} is not an Azure VM size"
            hint = (
                "VM sizes read Standard_<family><vCPUs>…, e.g. Standard_D4s_v5; "
                "`az vm list-sizes --location REGION` lists a region's"
            )
        elif _UNSUPPORTED_VM_SIZE.match(pool.vm_size.lower()):
            message = f"Batch does not support VM size {pool.vm_size}"
            hint = (
                "Batch supports all sizes except Standard_A0 and the GS, DS and DSv2 "
                "series; e.g. use the Dsv5 equivalent (Standard_D4s_v5)"
            )
        else:
            continue
        yield diag(
            "RC405",
            f"{pool.address}: {message}",
            hint=hint,
            address=pool.address,
            at=ctx.at(pool.address, "vmSize"),
        )


# --- members under Azure's names ---------------------------------------------------------

_VMC = "properties.deploymentConfiguration.virtualMachineConfiguration"
_IDENTITIES = 'identity.userAssignedIdentities["'
# Definition `SecurityType` feature values that allow each pool security type.
_ALLOWS = {
    "trustedlaunch": {
        "trustedlaunch",
        "trustedlaunchsupported",
        "trustedlaunchandconfidentialvmsupported",
    },
    "confidentialvm": {
        "confidentialvm",
        "confidentialvmsupported",
        "trustedlaunchandconfidentialvmsupported",
    },
}


@rule("RC230", "RC231", "RC232")
def azure_members(ctx: Context) -> Iterator[Diagnostic]:
    """Members written under Azure's names that Azure would refuse at apply time."""
    spec = ctx.spec
    for version in spec.versions.values():
        luns = version.source.data_luns
        if not version.azure.values or luns is None:
            continue  # nothing encrypted here, or disks known only to Azure
        for path, value in version.azure.values.items():
            is_lun = ".encryption.dataDiskImages[" in path and path.endswith(".lun")
            if is_lun and isinstance(value, int) and value not in luns:
                region = path.split("]", 1)[0].removeprefix("targetRegions[")
                yield diag(
                    "RC232",
                    f"{version.address}: the encryption of region {region} names data "
                    f"disk lun {value}, which the version's source does not have",
                    hint="encrypt only the data disks listed under "
                    f"source.{version.source.kind}.dataDisks (luns: "
                    + (", ".join(map(str, sorted(luns))) or "none")
                    + ")",
                    address=version.address,
                    at=ctx.at(version.address, "targetRegions"),
                )
    for pool in spec.pools.values():
        values = pool.azure.values
        if not values:
            continue
        declared = {
            ids.normalize_id(path[len(_IDENTITIES) : -2])
            for path in values
            if path.startswith(_IDENTITIES) and values[path] is not None
        }
        for path, value in values.items():
            if not path.endswith(".identityReference.resourceId") or not isinstance(value, str):
                continue
            if ids.normalize_id(value) not in declared:
                yield diag(
                    "RC230",
                    f"{pool.address}: {path} names identity {value.rsplit('/', 1)[-1]!r}, "
                    "which the pool does not declare",
                    hint="add it under identity.userAssignedIdentities (type UserAssigned): "
                    "a pool can only use the identities assigned to it",
                    address=pool.address,
                    at=ctx.at(pool.address, "properties"),
                )
        security = values.get(f"{_VMC}.securityProfile.securityType")
        if not isinstance(security, str) or pool.address in ctx.unresolved:
            continue
        target = spec.get(pool.image.address) if pool.image.address else None
        if target is None or pool.image.image_kind != "galleryImageVersion":
            continue
        image = spec.images.get(target.image_address)  # type: ignore[union-attr]
        if image is None:
            continue
        features = {
            str(image.azure.values.get(p.replace(".name", ".value"), "")).lower()
            for p, v in image.azure.values.items()
            if p.startswith("properties.features[")
            and p.endswith(".name")
            and str(v).lower() == "securitytype"
        }
        allowed = _ALLOWS.get(security.lower(), set())
        problems = []
        if not features & allowed:
            problems.append(f"its features do not allow {security} (SecurityType)")
        generation = image.hyper_v_generation or image.azure.values.get(
            "properties.hyperVGeneration"
        )
        if (generation or "V1") != "V2":
            problems.append("it is not HyperV generation V2")
        if problems:
            yield diag(
                "RC231",
                f"{pool.address}: securityType {security} needs an image definition that "
                f"supports it, but {image.address}: " + "; ".join(problems),
                hint="declare the definition with hyperVGeneration: V2 and a feature "
                "{name: SecurityType, value: TrustedLaunchSupported} (or the ConfidentialVM "
                "value) under properties.features",
                address=pool.address,
                at=ctx.at(pool.address, "properties"),
            )
