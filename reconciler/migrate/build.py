"""Decide the migration: which gallery, definition and version each managed image gets.

`plan_migration` is pure. For every managed image of the spec that backs pools it
publishes the image as a version (``source.managedImage``) of a new definition in the
gallery the user named (found in the spec or new), replicated to the gallery's region
and every region of those pools (replica counts are left to the spec's sizing, R1), and
points each pool at it. Before anything is written it checks what would make the move
fail, with codes:

- RC701/RC702 (R8): a specialized, or customer-key encrypted, OS disk cannot become a
  generalized gallery image;
- RC703 (R9): a pool in another subscription than the gallery cannot boot from it;
- RC704 (R12): a pool's nodeAgentSkuId does not match the image's OS;
- RC705 (R1): more nodes than the version's replicas can serve (over Azure's 100
  replicas per region, or an autoscale pool already above its declared `maxNodes`);
- RC706: the identifier template gives a publisher/offer/sku another definition of the
  gallery has (or an unknown placeholder);
- RC707 (warning): an autoscale pool with nodes now is held at fixed 0 nodes for the move
  (autoscale off, then restored);
- RC709: with ``blue_green``, the new pool's name ``<pool>-gallery`` is taken or too long.

With ``blue_green`` a pool with nodes (now, or declared when Azure was not read) is not
moved: the spec gets a copy of it named ``<pool>-gallery`` that boots the version, and
the old pool stays on the managed image until the user removes it from the spec.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from reconciler.diagnostics import Diagnostic, diag
from reconciler.migrate.model import (
    ImageFacts,
    ImageMove,
    MigrateOptions,
    Migration,
    PoolFacts,
    PoolMove,
)
from reconciler.spec.resolved import (
    AutoScale,
    ResolvedManagedImage,
    ResolvedPool,
    ResolvedSpec,
    SourceLocation,
)
from reconciler.spec.sizing import MAX_REPLICAS_PER_REGION
from reconciler.state.model import canonical_id

_IDENTIFIER_PARTS = ("publisher", "offer", "sku")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class TemplateError(ValueError):
    """The identifier template is malformed (a usage error, not a spec problem)."""


def parse_identifier_template(template: str) -> dict[str, str]:
    """``publisher=a,offer={image},sku=b`` → its three parts; anything else is an error."""
    parts: dict[str, str] = {}
    for item in template.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in _IDENTIFIER_PARTS or not value.strip():
            raise TemplateError(
                f"--identifier {template!r}: expected publisher=…,offer=…,sku=… "
                f"(got {item.strip()!r})"
            )
        if key in parts:
            raise TemplateError(f"--identifier {template!r}: {key} is given twice")
        parts[key] = value.strip()
    missing = [k for k in _IDENTIFIER_PARTS if k not in parts]
    if missing:
        raise TemplateError(f"--identifier {template!r}: {', '.join(missing)} missing")
    return parts


def definition_name(image_name: str) -> str:
    """A definition name from a managed image name (definitions must end in a letter or digit)."""
    return image_name.rstrip("_.-") or "image"


def plan_migration(
    spec: ResolvedSpec,
    options: MigrateOptions,
    *,
    facts: Mapping[str, ImageFacts] | None = None,
    pools_now: Mapping[str, PoolFacts] | None = None,
) -> Migration:
    """The migration of every managed image of `spec` that backs pools.

    `facts` (by canonical managed image id) come from a live read; an image missing
    there is judged by its spec. `pools_now` (by canonical pool id) says how many nodes
    each pool has now; without it every pool's move is described as the plan will decide.
    """
    template = parse_identifier_template(options.identifier)
    facts = facts or {}
    pools_now = pools_now or {}
    out: list[Diagnostic] = []
    moves: list[ImageMove] = []
    gallery = next((g for g in spec.galleries.values() if g.name == options.gallery), None)
    taken_ids: dict[tuple[str, str, str], str] = {}
    taken_names: set[str] = set()
    if gallery is not None:
        for address in gallery.images:
            image = spec.images[address]
            ident = image.identifier
            key = (ident.publisher.lower(), ident.offer.lower(), ident.sku.lower())
            taken_ids[key] = address
            taken_names.add(image.name.lower())
    for managed in spec.managed_images.values():
        users = spec.pools_using(managed.address)
        if not users:
            continue
        fact = facts.get(canonical_id(managed.id)) or ImageFacts(
            os_type=managed.os_type,
            os_state="Generalized",
            hyper_v_generation=managed.hyper_v_generation or "V1",
        )
        at = managed.declared_at
        problems = _image_problems(managed, fact, at)
        out.extend(problems)
        if gallery is not None:
            g_sub, g_rg, g_loc = gallery.subscription, gallery.resource_group, gallery.location
            g_file = gallery.declared_at.file
        else:
            g_sub = managed.subscription
            g_rg = options.resource_group or managed.resource_group
            g_loc = (options.location or managed.location).replace(" ", "").lower()
            g_file = managed.declared_at.file
        green = {
            pool.address: f"{pool.name}{BLUE_GREEN_SUFFIX}"
            for pool in users
            if options.blue_green and _has_nodes(pool, pools_now.get(canonical_id(pool.id)))
        }
        for pool in users:
            now = pools_now.get(canonical_id(pool.id))
            # A pool left on the managed image is not scaled to zero: RC707 is not for it.
            out.extend(_pool_problems(pool, fact, g_sub, None if pool.address in green else now))
            if pool.address in green:
                out.extend(_green_name_problems(spec, pool, green[pool.address]))
        out.extend(_replica_problems(spec, managed, users, pools_now))
        name = _free_name(definition_name(managed.name), taken_names)
        taken_names.add(name.lower())
        identifier, problem = _identifier(template, managed, users, options.gallery, fact)
        if problem is not None:
            out.append(diag("RC706", problem, address=managed.address, at=at, hint=_ID_HINT))
            continue
        key = (
            identifier["publisher"].lower(),
            identifier["offer"].lower(),
            identifier["sku"].lower(),
        )
        if key in taken_ids:
            out.append(
                diag(
                    "RC706",
                    f"{managed.address}: identifier {'/'.join(identifier.values())} is already "
                    f"used by {taken_ids[key]} in gallery {options.gallery}",
                    hint=_ID_HINT,
                    address=managed.address,
                    at=at,
                )
            )
            continue
        taken_ids[key] = managed.address
        regions = [g_loc, *sorted({p.location for p in users} - {g_loc})]
        definition = {
            "name": name,
            "osType": fact.os_type,
            "osState": "Generalized",
            "hyperVGeneration": fact.hyper_v_generation,
            "architecture": fact.architecture,
            "identifier": identifier,
            "versions": [
                {
                    "name": options.version,
                    "source": {"managedImage": managed.id},
                    "targetRegions": [{"name": r} for r in regions],
                }
            ],
        }
        moves.append(
            ImageMove(
                managed_image=managed.address,
                managed_image_file=managed.declared_at.file,
                facts=fact,
                gallery=options.gallery,
                gallery_new=gallery is None,
                gallery_file=g_file,
                gallery_placement={
                    "subscription": g_sub,
                    "resourceGroup": g_rg,
                    "location": g_loc,
                },
                definition=definition,
                pools=tuple(
                    _pool_move(
                        pool,
                        pools_now.get(canonical_id(pool.id)),
                        options.drain,
                        green.get(pool.address),
                    )
                    for pool in users
                ),
            )
        )
    return Migration(moves=tuple(moves), diagnostics=tuple(out))


#: What `--blue-green` appends to a pool's name for its copy on the gallery version.
BLUE_GREEN_SUFFIX = "-gallery"
_POOL_NAME_MAX = 64


def _has_nodes(pool: ResolvedPool, now: PoolFacts | None) -> bool:
    """Nodes now when Azure was read; otherwise what the spec declares (autoscale: may have)."""
    if now is not None:
        return now.nodes > 0
    return pool.is_autoscale or pool.target_nodes > 0


def _green_name_problems(spec: ResolvedSpec, pool: ResolvedPool, name: str) -> list[Diagnostic]:
    taken = any(
        p.account_address == pool.account_address and p.name.lower() == name.lower()
        for p in spec.pools.values()
    )
    if not taken and len(name) <= _POOL_NAME_MAX:
        return []
    why = (
        f"is already a pool of {pool.account}"
        if taken
        else f"is longer than Batch's {_POOL_NAME_MAX} characters"
    )
    return [
        diag(
            "RC709",
            f"{pool.address}: its blue/green copy's name {name!r} {why}",
            hint="rename or remove that pool, or migrate without --blue-green "
            "(the pool is then moved in place)",
            address=pool.address,
            at=pool.declared_at,
        )
    ]


_ID_HINT = (
    "give --identifier a template that differs per image, e.g. "
    "'publisher={gallery},offer={image},sku={image}'"
)


def _free_name(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate.lower() in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate


def _image_problems(
    managed: ResolvedManagedImage, fact: ImageFacts, at: SourceLocation
) -> list[Diagnostic]:
    out = []
    if fact.os_state.lower() != "generalized":
        out.append(
            diag(
                "RC701",
                f"{managed.address}: its OS disk is {fact.os_state}, and only a generalized "
                "image can back a Batch pool as a gallery image (R8)",
                hint="capture a generalized image (sysprep / waagent -deprovision) from a VM "
                "built from the same snapshot, declare it, and migrate again",
                address=managed.address,
                at=at,
            )
        )
    if fact.encryption_set:
        out.append(
            diag(
                "RC702",
                f"{managed.address}: its OS disk is encrypted with the customer-managed key "
                f"of {fact.encryption_set.rsplit('/', 1)[-1]}, which the gallery version would "
                "need per region; it is not migrated",
                hint="publish a version from the image's snapshots with the encryption set "
                "declared for every target region, or re-create the image with platform keys",
                address=managed.address,
                at=at,
            )
        )
    return out


def _pool_problems(
    pool: ResolvedPool, fact: ImageFacts, gallery_sub: str, now: PoolFacts | None
) -> list[Diagnostic]:
    out = []
    at = pool.declared_at
    if pool.subscription.lower() != gallery_sub.lower():
        out.append(
            diag(
                "RC703",
                f"{pool.address}: its Batch account is in subscription {pool.subscription}, "
                f"the gallery in {gallery_sub}; a pool boots only gallery images of its own "
                "subscription (R9)",
                hint="migrate this account's pools into a gallery of its subscription "
                "(--gallery NAME of a gallery declared there)",
                address=pool.address,
                at=at,
            )
        )
    sku = pool.node_agent_sku_id.lower()
    if sku.startswith("batch.node.") and ("windows" in sku) != (fact.os_type == "Windows"):
        out.append(
            diag(
                "RC704",
                f"{pool.address}: nodeAgentSkuId {pool.node_agent_sku_id!r} does not match "
                f"its {fact.os_type} image ({fact.source} osType) (R12)",
                hint=f"use a {fact.os_type} node agent SKU matching the image's distribution",
                address=pool.address,
                at=at,
            )
        )
    if isinstance(pool.scale, AutoScale) and now is not None and now.nodes:
        if now.nodes > pool.scale.max_nodes:
            out.append(
                diag(
                    "RC705",
                    f"{pool.address}: it has {now.nodes} nodes now, more than its maxNodes "
                    f"{pool.scale.max_nodes} the version's replicas are sized for (R1)",
                    hint=f"raise autoScale.maxNodes to at least {now.nodes}",
                    address=pool.address,
                    at=at,
                )
            )
        out.append(
            diag(
                "RC707",
                f"{pool.address}: an autoscale pool with {now.nodes} nodes now; apply "
                "--allow-disruptive switches it to fixed 0 nodes (draining with "
                "TaskCompletion), changes its image, then restores its autoscale settings",
                hint="apply when its formula has brought it to 0 nodes to move it in place, "
                "or use --blue-green to keep it serving",
                address=pool.address,
                at=at,
            )
        )
    return out


def _replica_problems(
    spec: ResolvedSpec,
    managed: ResolvedManagedImage,
    users: tuple[ResolvedPool, ...],
    pools_now: Mapping[str, PoolFacts],
) -> list[Diagnostic]:
    per_region: dict[str, list[ResolvedPool]] = {}
    for pool in users:
        per_region.setdefault(pool.location, []).append(pool)
    out = []
    vms = spec.settings.vms_per_replica
    for region, pools in sorted(per_region.items()):
        nodes = 0
        for pool in pools:
            now = pools_now.get(canonical_id(pool.id))
            nodes += max(pool.target_nodes, now.nodes if now is not None else 0)
        needed = math.ceil(nodes / vms)
        if needed > MAX_REPLICAS_PER_REGION:
            names = ", ".join(p.address for p in pools)
            out.append(
                diag(
                    "RC705",
                    f"{managed.address}: its pools in {region} ({names}) need {nodes} nodes, "
                    f"ceil({nodes}/{vms}) = {needed} replicas, more than the "
                    f"{MAX_REPLICAS_PER_REGION} one version may have per region (R1)",
                    hint="split the pools over several versions (migrate them in groups with "
                    "different --version) or reduce their nodes",
                    address=managed.address,
                    at=managed.declared_at,
                )
            )
    return out


def _identifier(
    template: Mapping[str, str],
    managed: ResolvedManagedImage,
    users: tuple[ResolvedPool, ...],
    gallery: str,
    fact: ImageFacts,
) -> tuple[dict[str, str], str | None]:
    first = users[0]
    values: dict[str, str] = {
        **first.metadata,
        "image": managed.name,
        "gallery": gallery,
        "os": fact.os_type.lower(),
        "generation": fact.hyper_v_generation.lower(),
        "pool": first.name,
        "account": first.account,
    }
    out: dict[str, str] = {}
    for part, pattern in template.items():
        unknown = [m for m in _PLACEHOLDER.findall(pattern) if m not in values]
        if unknown:
            known = ", ".join(sorted(values))
            return {}, (
                f"{managed.address}: the identifier template's {part} uses "
                f"{{{unknown[0]}}}, which is neither a placeholder ({known}) nor a "
                f"metadata key of {first.address}"
            )
        out[part] = _PLACEHOLDER.sub(lambda m: values[m.group(1)], pattern)
    limits = {"publisher": 128, "offer": 64, "sku": 64}
    for part, value in out.items():
        if len(value) > limits[part]:
            return {}, (
                f"{managed.address}: identifier {part} {value!r} is longer than "
                f"{limits[part]} characters"
            )
    return out, None


def _pool_move(
    pool: ResolvedPool, now: PoolFacts | None, drain: str | None, green: str | None = None
) -> PoolMove:
    autoscale = isinstance(pool.scale, AutoScale)
    if green is not None:
        return PoolMove(
            address=pool.address,
            file=pool.declared_at.file,
            account=pool.account,
            name=pool.name,
            how=(
                f"blue/green: new pool {green} on the version is created; {pool.name} stays "
                "on the managed image until you remove it from the spec (then plan --prune "
                "deletes it)"
            ),
            blue_green=green,
        )
    if now is None:
        how = "moved as the plan decides (not read from Azure)"
    elif now.nodes == 0 and now.allocation_state.lower() == "steady":
        how = "moved in place (steady at 0 nodes)"
    elif autoscale:
        how = (
            f"autoscale off at fixed 0 nodes (drain TaskCompletion, has {now.nodes}), moved, "
            "autoscale restored (apply --allow-disruptive)"
        )
    else:
        how = (
            f"scaled {now.nodes}→0, moved, scaled back "
            "(scale-to-zero-then-update: apply --allow-disruptive)"
        )
    set_drain = None
    if (
        drain is not None
        and not autoscale
        and pool.scale.node_deallocation_option is None  # type: ignore[union-attr]
        and (now is None or now.nodes > 0)
        and pool.target_nodes > 0
    ):
        set_drain = drain
    return PoolMove(
        address=pool.address,
        file=pool.declared_at.file,
        account=pool.account,
        name=pool.name,
        how=how,
        set_drain=set_drain,
    )


def summary(migration: Migration) -> list[str]:
    """One line per image and per pool, for people (what `migrate` prints on stderr)."""
    lines = []
    for move in migration.moves:
        version = move.definition["versions"][0]
        regions = ", ".join(r["name"] for r in version["targetRegions"])
        lines.append(
            f"{move.managed_image} → gallery {move.gallery}"
            f"{' (new)' if move.gallery_new else ''}, definition {move.definition_name}, "
            f"version {version['name']} in {regions} (from {move.facts.source} facts)"
        )
        for pool in move.pools:
            drain = f"; drains with {pool.set_drain}" if pool.set_drain else ""
            lines.append(f"  {pool.address}: {pool.how}{drain}")
    return lines
