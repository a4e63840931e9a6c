"""Resolution: validated file models → one `ResolvedSpec`, plus the diagnostics found on the way.

Owns everything between "each file is well-formed" and "the Batch rules can run":
merging settings across files, applying each file's `defaults`, uniqueness of
addresses across files, resolving pool image references (including pinning
``version: latest``), resource ids, dependency links, and sizing (replicas per
version and region, resizeTimeout per fixed pool). The Batch rules themselves live
in `reconciler.spec.rules` and run on the `Context` built here.
"""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from reconciler.diagnostics import Diagnostic, diag
from reconciler.spec import azure_members, ids
from reconciler.spec import models as m
from reconciler.spec.azure_members import AzureMembers
from reconciler.spec.resolved import (
    AutoScale,
    DataDisk,
    FixedScale,
    ImageDataDisk,
    ImageIdentifier,
    InboundNatPool,
    ManagedImageSource,
    MarketplaceImage,
    Network,
    PoolImageRef,
    ResolvedBatchAccount,
    ResolvedGallery,
    ResolvedImage,
    ResolvedManagedImage,
    ResolvedPool,
    ResolvedSpec,
    ResolvedTargetRegion,
    ResolvedVersion,
    Settings,
    SourceLocation,
    StartTask,
    VersionSource,
    VersionSourceKind,
    VhdDisk,
    frozen_map,
)
from reconciler.spec.sizing import Contribution, size_replicas, size_resize_timeout
from reconciler.spec.yamlpos import YList, YMap, position_of
from reconciler.state import surface
from reconciler.state.model import Kind

if TYPE_CHECKING:  # loader calls resolve(): a runtime import back would be a cycle
    from reconciler.spec.loader import FileDoc, Item, Loaded

At = tuple[str, int, int]


@dataclass(slots=True)
class Context:
    """What the rules see: the resolved spec, the models, and where everything was written."""

    spec: ResolvedSpec
    today: dt.date
    raw: dict[str, tuple[str, YMap]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    # Pools whose image is missing or failed validation (already reported): checks that
    # need the image skip them. Value: the definition the pool names when that is valid,
    # so checks on the definition alone (osType, osState) still run.
    unresolved: dict[str, str | None] = field(default_factory=dict)
    # (version address, region) → contributions; includes regions not targeted (R9).
    contributions: dict[tuple[str, str], list[Contribution]] = field(default_factory=dict)

    def at(self, address: str, *path: str | int, key: bool = False) -> At | None:
        """``(file, line, col)`` of `path` inside the resource at `address`."""
        entry = self.raw.get(address)
        if entry is None:
            return None
        file, raw = entry
        pos = position_of(raw, path, key=key) if path else raw.pos
        return (file, *(pos or raw.pos))


class _Builder:
    def __init__(self, loaded: Loaded, today: dt.date) -> None:
        self.loaded = loaded
        self.today = today
        self.diags: list[Diagnostic] = []
        self.raw: dict[str, tuple[str, YMap]] = {}
        self.models: dict[str, Any] = {}
        self.seen: dict[str, SourceLocation] = {}
        # Pools whose image is missing or broken → the definition they name, if valid.
        self.unresolved: dict[str, str | None] = {}
        # Definitions with a broken version: which one `latest` means is unknown.
        self.unsure_latest = {
            a.rsplit("/", 1)[0].replace("version:", "image:", 1)
            for a in loaded.broken
            if a.startswith("version:")
        }

    # --- helpers ------------------------------------------------------------------

    def where(self, file: str, raw: YMap, *path: str | int, key: bool = False) -> At:
        pos = position_of(raw, path, key=key) if path else raw.pos
        return (file, *(pos or raw.pos))

    def where_in(
        self, file: str, raw: YMap, prefix: tuple[str | int, ...], loc: Sequence[str | int]
    ) -> At:
        """`where` for a path relative to `prefix` inside `raw`."""
        return self.where(file, raw, *prefix, *loc)

    def loc(self, file: str, raw: YMap) -> SourceLocation:
        return SourceLocation(file, *raw.pos)

    def azure(self, kind: Kind, file: str, raw: YMap, address: str) -> AzureMembers:
        """The members `raw` writes under Azure's names, checked (problems recorded)."""
        if _ROOT_KEYS.isdisjoint(raw):
            return AzureMembers()  # the common case, answered without the field table
        friendly = frozenset(str(k) for k in raw) - frozenset(surface.roots(kind))
        members, problems = azure_members.check(
            kind,
            raw,
            address=address,
            where=lambda loc: self.where(file, raw, *loc),
            friendly=friendly,
        )
        self.diags.extend(problems)
        return members

    def claim(self, address: str, file: str, raw: YMap, what: str) -> bool:
        """Register an address; report a duplicate (and return False) if taken."""
        first = self.seen.get(address)
        if first is not None:
            self.diags.append(
                diag(
                    "RC006",
                    f"duplicate {what}: {address} is already declared",
                    hint=f"first declared at {first}; names must be unique across all spec files",
                    address=address,
                    at=self.where(file, raw, "name"),
                )
            )
            return False
        self.seen[address] = self.loc(file, raw)
        self.raw[address] = (file, raw)
        return True

    def placement(
        self, doc: FileDoc, item: Item, address: str, *, need_location: bool = True
    ) -> tuple[str, str, str] | None:
        model = item.model
        defaults = doc.header.defaults or m.Defaults()
        values = {
            "subscription": model.subscription or defaults.subscription,
            "resourceGroup": model.resourceGroup or defaults.resourceGroup,
            "location": model.location or defaults.location,
        }
        missing = [k for k, v in values.items() if v is None and (need_location or k != "location")]
        for key in missing if not doc.defaults_broken else ():
            self.diags.append(
                diag(
                    "RC005",
                    f"{address} has no {key}",
                    hint=f"set `{key}:` on it, or `defaults: {{{key}: ...}}` in {doc.file}",
                    address=address,
                    at=self.where(item.file, item.raw),
                )
            )
        if missing:
            return None
        return (
            str(values["subscription"]),
            str(values["resourceGroup"]),
            ids.normalize_location(values["location"] or ""),
        )

    def placed(
        self,
        items: list[tuple[FileDoc, Item]],
        section: str,
        what: str,
        address_of: Callable[[str], str],
        *,
        merge: Mapping[str, Any] = MappingProxyType({}),
    ) -> Iterator[tuple[Item, Any, str, tuple[str, str, str]]]:
        """The resources of one section that claim their address and have a placement.

        An address already in `merge` is not a duplicate (Batch accounts may be listed
        in several files); its first model is the one kept.
        """
        for doc, item in items:
            if item.section != section:
                continue
            address = address_of(item.model.name)
            if address not in merge and not self.claim(address, item.file, item.raw, what):
                continue
            place = self.placement(doc, item, address)
            if place is None:
                continue
            self.models.setdefault(address, item.model)
            yield item, item.model, address, place

    def children(
        self,
        item: Item,
        raw_list: Any,
        models: list[Any],
        what: str,
        address_of: Callable[[str], str],
        *at: int,
    ) -> Iterator[tuple[int, YMap, Any, str]]:
        """The child resources (images, versions, pools) that claim their address.

        `raw_list` and `models` are the list as written and as validated; `at` is its
        place in `item` as in `Item.entries`. Yields ``(raw index, raw, model, address)``.
        """
        for j, model in item.entries(models, *at):
            raw = raw_list[j]
            address = address_of(model.name)
            if self.claim(address, item.file, raw, what):
                self.models[address] = model
                yield j, raw, model, address

    # --- the build ------------------------------------------------------------------

    def settings(self) -> Settings:
        chosen: dict[str, Any] = {}
        # Where each setting was first made, as (file, mapping): a position is read only
        # for a conflict to report (asking for one re-reads the file with every position).
        origin: dict[str, tuple[str, YMap]] = {}
        for doc in self.loaded.docs:
            s = doc.header.settings
            if s is None:
                continue
            for name in sorted(s.model_fields_set):
                value = getattr(s, name)
                if name in chosen and chosen[name] != value:
                    first = self.where(*origin[name], "settings", name)
                    self.diags.append(
                        diag(
                            "RC009",
                            f"settings.{name} is {value!r} here but {chosen[name]!r} in {first[0]}",
                            hint=f"set it once (first set at {first[0]}:{first[1]}:{first[2]}) "
                            "or make the values agree",
                            at=self.where(doc.file, doc.raw, "settings", name),
                        )
                    )
                    continue
                chosen[name] = value
                origin[name] = (doc.file, doc.raw)
        owner = chosen.get("owner")
        return Settings(
            vms_per_replica=chosen.get("vmsPerReplica", 600),
            minutes_per_1000_nodes=chosen.get("minutesPer1000Nodes", 15),
            prune=chosen.get("prune", False),
            adopt=chosen.get("adopt", False),
            owner=owner or derived_owner(self.loaded.files),
            owner_derived=owner is None,
        )

    def build(self) -> Context:
        settings = self.settings()
        galleries: dict[str, ResolvedGallery] = {}
        images: dict[str, dict[str, Any]] = {}
        pending_versions: list[dict[str, Any]] = []
        managed: dict[str, ResolvedManagedImage] = {}
        managed_kw: dict[str, dict[str, Any]] = {}
        accounts: dict[str, dict[str, Any]] = {}
        pool_kw: dict[str, dict[str, Any]] = {}

        items = [(doc, item) for doc in self.loaded.docs for item in doc.items]

        # Galleries, definitions, versions (sizing later, once pools are known).
        g: m.Gallery
        for item, g, g_addr, (sub, rg, location) in self.placed(
            items, "galleries", "gallery", ids.gallery_address
        ):
            identifiers: dict[tuple[str, str, str], str] = {}
            image_addrs: list[str] = []
            image: m.ImageDefinition
            for j, i_raw, image, i_addr in self.children(
                item,
                item.raw.get("images"),
                g.images,
                "image definition",
                partial(ids.image_address, g.name),
            ):
                ident = image.identifier
                key = (ident.publisher.lower(), ident.offer.lower(), ident.sku.lower())
                if key in identifiers:
                    self.diags.append(
                        diag(
                            "RC211",
                            f"{i_addr} has the same publisher/offer/sku "
                            f"({ident.publisher}/{ident.offer}/{ident.sku}) as {identifiers[key]}",
                            hint="Azure refuses two definitions in one gallery with the same "
                            "identifier; change the sku (or offer/publisher) of one of them",
                            address=i_addr,
                            at=self.where(item.file, i_raw, "identifier"),
                        )
                    )
                else:
                    identifiers[key] = i_addr
                image_addrs.append(i_addr)
                version_addrs: list[str] = []
                best: tuple[tuple[int, int, int], str] | None = None
                version: m.ImageVersion
                for _, v_raw, version, v_addr in self.children(
                    item,
                    i_raw.get("versions"),
                    image.versions,
                    "image version",
                    partial(ids.version_address, g.name, image.name),
                    j,
                ):
                    vt = tuple(int(p) for p in version.name.split("."))
                    version_addrs.append(v_addr)
                    if not version.excludeFromLatest and (best is None or vt > best[0]):
                        best = (vt, v_addr)  # type: ignore[assignment]
                    pending_versions.append(
                        {
                            "model": version,
                            "address": v_addr,
                            "raw": v_raw,
                            "file": item.file,
                            "azure": self.azure(Kind.VERSION, item.file, v_raw, v_addr),
                            "gallery": g.name,
                            "definition": image.name,
                            "image_address": i_addr,
                            "id": ids.version_id(sub, rg, g.name, image.name, version.name),
                            "subscription": sub,
                            "resource_group": rg,
                            "location": location,
                            "version_tuple": vt,
                        }
                    )
                images[i_addr] = {
                    "address": i_addr,
                    "name": image.name,
                    "gallery": g.name,
                    "gallery_address": g_addr,
                    "id": ids.image_id(sub, rg, g.name, image.name),
                    "subscription": sub,
                    "resource_group": rg,
                    "location": location,
                    "os_type": image.osType,
                    "os_state": image.osState,
                    "hyper_v_generation": image.hyperVGeneration,
                    "architecture": image.architecture,
                    "identifier": ImageIdentifier(ident.publisher, ident.offer, ident.sku),
                    "description": image.description,
                    "tags": frozen_map(image.tags),
                    "versions": tuple(version_addrs),
                    "latest": best[1] if best else None,
                    "declared_at": self.loc(item.file, i_raw),
                    "azure": self.azure(Kind.IMAGE, item.file, i_raw, i_addr),
                }
            galleries[g_addr] = ResolvedGallery(
                address=g_addr,
                name=g.name,
                id=ids.gallery_id(sub, rg, g.name),
                subscription=sub,
                resource_group=rg,
                location=location,
                description=g.description,
                tags=frozen_map(g.tags),
                images=tuple(image_addrs),
                declared_at=self.loc(item.file, item.raw),
                azure=self.azure(Kind.GALLERY, item.file, item.raw, g_addr),
            )

        # Managed images.
        mi: m.ManagedImage
        for item, mi, addr, (sub, rg, location) in self.placed(
            items, "managedImages", "managed image", ids.managed_image_address
        ):
            managed_kw[addr] = {
                "address": addr,
                "name": mi.name,
                "id": ids.managed_image_id(sub, rg, mi.name),
                "subscription": sub,
                "resource_group": rg,
                "location": location,
                "os_type": mi.osType,
                "hyper_v_generation": mi.hyperVGeneration,
                "source": _managed_image_source(mi.source),
                "tags": frozen_map(mi.tags),
                "declared_at": self.loc(item.file, item.raw),
                "azure": self.azure(Kind.MANAGED_IMAGE, item.file, item.raw, addr),
            }

        id_index: dict[str, str] = {}
        for pv in pending_versions:
            id_index[ids.normalize_id(pv["id"])] = pv["address"]
        for addr, kw in managed_kw.items():
            id_index[ids.normalize_id(kw["id"])] = addr

        # Batch accounts and pools.
        acct: m.BatchAccount
        for item, acct, a_addr, place in self.placed(
            items, "batchAccounts", "Batch account", ids.batch_account_address, merge=accounts
        ):
            sub, rg, location = place
            existing = accounts.get(a_addr)
            # Accounts are references to existing resources: several files may list
            # pools of the same account, as long as they agree where it is.
            if existing is not None and place != (
                existing["subscription"],
                existing["resource_group"],
                existing["location"],
            ):
                self.diags.append(
                    diag(
                        "RC006",
                        f"{a_addr} is declared again with a different placement "
                        f"({sub}/{rg}/{location} vs {existing['subscription']}/"
                        f"{existing['resource_group']}/{existing['location']})",
                        hint=f"first declared at {existing['declared_at']}; an account may "
                        "appear in several files only with the same subscription, "
                        "resourceGroup and location",
                        address=a_addr,
                        at=self.where(item.file, item.raw, "name"),
                    )
                )
                continue
            a_id = ids.batch_account_id(sub, rg, acct.name)
            pool_addrs: list[str] = list(existing["pools"]) if existing else []
            pool: m.Pool
            for _, p_raw, pool, p_addr in self.children(
                item,
                item.raw.get("pools"),
                acct.pools,
                "pool",
                partial(ids.pool_address, acct.name),
            ):
                ref = self.image_ref(pool, p_addr, item.file, p_raw, images, managed_kw, id_index)
                if ref is None:
                    # Still sized and checked; the rules skip what needs its image.
                    ref = _unresolved(pool.image)
                    i_addr = ids.image_address(
                        pool.image.gallery or "", pool.image.definition or ""
                    )
                    self.unresolved[p_addr] = i_addr if i_addr in images else None
                pool_addrs.append(p_addr)
                pool_kw[p_addr] = {
                    "pool": pool,
                    "address": p_addr,
                    "account": acct.name,
                    "account_address": a_addr,
                    "account_id": a_id,
                    "id": ids.pool_id(sub, rg, acct.name, pool.name),
                    "subscription": sub,
                    "resource_group": rg,
                    "location": location,
                    "image": ref,
                    "declared_at": self.loc(item.file, p_raw),
                    "azure": self.azure(Kind.POOL, item.file, p_raw, p_addr),
                    "tags": frozen_map(pool.tags),
                }
            if existing is not None:
                existing["pools"] = tuple(pool_addrs)
                continue
            accounts[a_addr] = {
                "address": a_addr,
                "name": acct.name,
                "id": a_id,
                "subscription": sub,
                "resource_group": rg,
                "location": location,
                "pools": tuple(pool_addrs),
                "declared_at": self.loc(item.file, item.raw),
            }

        # Who uses what, and how many nodes per (version, region).
        contributions: dict[tuple[str, str], list[Contribution]] = {}
        used_by: dict[str, list[str]] = {}
        pools: dict[str, ResolvedPool] = {}
        for p_addr, kw in pool_kw.items():
            pool = kw.pop("pool")
            resolved = self.pool(pool, kw, settings)
            pools[p_addr] = resolved
            target = resolved.image.address
            if target is None:
                continue
            used_by.setdefault(target, []).append(p_addr)
            if target.startswith("version:"):
                scale = resolved.scale
                how = (
                    f"{scale.dedicated} dedicated + {scale.low_priority} low-priority"
                    if isinstance(scale, FixedScale)
                    else f"autoscale maxNodes {scale.max_nodes}"
                )
                contributions.setdefault((target, resolved.location), []).append(
                    Contribution(p_addr, resolved.target_nodes, how)
                )

        versions: dict[str, ResolvedVersion] = {}
        for pv in pending_versions:
            versions[pv["address"]] = self.version(pv, settings, contributions, used_by, id_index)

        for addr, kw in managed_kw.items():
            managed[addr] = ResolvedManagedImage(used_by=tuple(used_by.get(addr, ())), **kw)

        spec = ResolvedSpec(
            settings=settings,
            galleries=MappingProxyType(galleries),
            images=MappingProxyType({a: ResolvedImage(**kw) for a, kw in images.items()}),
            versions=MappingProxyType(versions),
            managed_images=MappingProxyType(managed),
            batch_accounts=MappingProxyType(
                {a: ResolvedBatchAccount(**kw) for a, kw in accounts.items()}
            ),
            pools=MappingProxyType(pools),
            files=self.loaded.files,
            digest=self.loaded.digest,
        )
        return Context(
            spec=spec,
            today=self.today,
            raw=self.raw,
            models=self.models,
            broken=self.loaded.broken,
            unresolved=self.unresolved,
            contributions=contributions,
        )

    # --- pieces ---------------------------------------------------------------------

    def image_ref(
        self,
        pool: m.Pool,
        p_addr: str,
        file: str,
        p_raw: YMap,
        images: Mapping[str, Mapping[str, Any]],
        managed_kw: Mapping[str, Mapping[str, Any]],
        id_index: Mapping[str, str],
    ) -> PoolImageRef | None:
        ref = pool.image
        broken = self.loaded.broken
        if ref.is_marketplace:
            return _marketplace(ref)
        if ref.gallery is not None and ref.definition is not None:
            i_addr = ids.image_address(ref.gallery, ref.definition)
            wanted = ref.version or "latest"
            image = images.get(i_addr)
            if image is None:
                if broken.intersection(
                    (
                        i_addr,
                        ids.gallery_address(ref.gallery),
                        ids.image_address(ref.gallery, "*"),
                        ids.gallery_address("*"),
                    )
                ):
                    return None
                if i_addr in self.seen:  # declared but dropped (e.g. no placement)
                    return None
                known = [a for a in images if a.startswith(f"image:{ref.gallery}/")]
                if ids.gallery_address(ref.gallery) not in self.seen:
                    what = f"gallery {ref.gallery!r}"
                    pool_of = [a.split(":", 1)[1] for a in self.seen if a.startswith("gallery:")]
                    guess = difflib.get_close_matches(ref.gallery, pool_of, n=1)
                else:
                    what = f"image definition {ref.definition!r} in gallery {ref.gallery!r}"
                    guess = difflib.get_close_matches(
                        ref.definition, [a.rsplit("/", 1)[1] for a in known], n=1
                    )
                self.diags.append(
                    diag(
                        "RC007",
                        f"{p_addr} uses {what}, which no spec file declares",
                        hint=(f"did you mean {guess[0]!r}? " if guess else "")
                        + "declare it under `galleries:` or fix the reference",
                        address=p_addr,
                        at=self.where(file, p_raw, "image"),
                    )
                )
                return None
            if wanted == "latest":
                if i_addr in self.unsure_latest:
                    return None
                v_addr = image["latest"]
                if v_addr is None:
                    self.diags.append(
                        diag(
                            "RC012",
                            f"{p_addr} asks for the latest version of {i_addr}, "
                            "but it has no version that is not excludeFromLatest",
                            hint="declare a version (without excludeFromLatest: true) "
                            "or pin `version: X.Y.Z`",
                            address=p_addr,
                            at=self.where(file, p_raw, "image"),
                        )
                    )
                    return None
            else:
                v_addr = ids.version_address(ref.gallery, ref.definition, wanted)
                if v_addr not in image["versions"]:
                    unnamed = ids.version_address(ref.gallery, ref.definition, "*")
                    if broken.intersection((v_addr, unnamed)) or v_addr in self.seen:
                        return None
                    names = [a.rsplit("/", 1)[1] for a in image["versions"]]
                    self.diags.append(
                        diag(
                            "RC007",
                            f"{p_addr} uses version {wanted} of {i_addr}, which is not declared",
                            hint=(
                                f"declared versions: {', '.join(names)}; "
                                if names
                                else "no versions are declared; "
                            )
                            + "use one of them or `version: latest`",
                            address=p_addr,
                            at=self.where(file, p_raw, "image", "version"),
                        )
                    )
                    return None
            v_name = v_addr.rsplit("/", 1)[1]
            return PoolImageRef(
                kind="gallery",
                image_kind="galleryImageVersion",
                id=f"{image['id']}/versions/{v_name}",
                address=v_addr,
                gallery=ref.gallery,
                definition=ref.definition,
                declared_version=wanted,
                pinned_from_latest=wanted == "latest",
            )
        if ref.managedImage is not None:
            addr = ids.managed_image_address(ref.managedImage)
            kw = managed_kw.get(addr)
            if kw is None:
                if broken.intersection((addr, ids.managed_image_address("*"))) or addr in self.seen:
                    return None
                names = [a.split(":", 1)[1] for a in managed_kw]
                guess = difflib.get_close_matches(ref.managedImage, names, n=1)
                self.diags.append(
                    diag(
                        "RC007",
                        f"{p_addr} uses managed image {ref.managedImage!r}, "
                        "which no spec file declares",
                        hint=(f"did you mean {guess[0]!r}? " if guess else "")
                        + "declare it under `managedImages:` or use `image: {id: ...}` "
                        "for an image the tool does not manage",
                        address=p_addr,
                        at=self.where(file, p_raw, "image", "managedImage"),
                    )
                )
                return None
            return PoolImageRef(
                kind="managedImage",
                image_kind="managedImage",
                id=kw["id"],
                address=addr,
                managed_image=ref.managedImage,
            )
        raw_id = ref.id or ""
        parsed = ids.parse_id(raw_id)
        image_kind = (
            "managedImage"
            if parsed is not None and parsed.kind == ids.KIND_MANAGED_IMAGE
            else "galleryImageVersion"
        )
        target = id_index.get(ids.normalize_id(raw_id))
        return PoolImageRef(
            kind="id",
            image_kind=image_kind,  # type: ignore[arg-type]
            id=raw_id,
            address=target,
            managed_image=parsed.name if parsed and image_kind == "managedImage" else None,
        )

    def pool(self, pool: m.Pool, kw: dict[str, Any], settings: Settings) -> ResolvedPool:
        image: PoolImageRef = kw["image"]
        sizing = None
        scale: FixedScale | AutoScale
        if pool.scale.fixed is not None:
            f = pool.scale.fixed
            nodes = f.dedicated + f.lowPriority
            sizing = size_resize_timeout(
                nodes,
                f.resizeTimeout,
                settings.minutes_per_1000_nodes,
                managed_image=image.is_managed_image,
            )
            scale = FixedScale(
                dedicated=f.dedicated,
                low_priority=f.lowPriority,
                resize_timeout=sizing.final,
                declared_resize_timeout=f.resizeTimeout,
                node_deallocation_option=f.nodeDeallocationOption,
            )
        else:
            a = pool.scale.autoScale
            assert a is not None  # the model guarantees exactly one
            nodes = a.maxNodes
            scale = AutoScale(
                formula=a.formula, evaluation_interval=a.evaluationInterval, max_nodes=a.maxNodes
            )
        start = None
        if pool.startTask is not None:
            t = pool.startTask
            identity = t.userIdentity
            start = StartTask(
                command_line=t.commandLine,
                environment=frozen_map(t.environment),
                wait_for_success=t.waitForSuccess,
                max_task_retry_count=t.maxTaskRetryCount,
                elevation_level=identity.elevationLevel if identity else None,
                scope=identity.scope if identity else None,
            )
        network = None
        if pool.network is not None:
            n = pool.network
            network = Network(
                subnet_id=n.subnetId,
                public_ip_address_provisioning_type=n.publicIPAddressProvisioningType,
                public_ips=tuple(n.publicIPs),
                inbound_nat_pools=tuple(
                    InboundNatPool(
                        p.name,
                        p.protocol,
                        p.backendPort,
                        p.frontendPortRangeStart,
                        p.frontendPortRangeEnd,
                    )
                    for p in n.inboundNatPools
                ),
            )
        return ResolvedPool(
            name=pool.name,
            display_name=pool.displayName,
            vm_size=pool.vmSize,
            node_agent_sku_id=pool.nodeAgentSkuId,
            scale=scale,
            resize_timeout=sizing,
            start_task=start,
            task_slots_per_node=pool.taskSlotsPerNode,
            network=network,
            metadata=frozen_map(pool.metadata),
            inter_node_communication=pool.interNodeCommunication,
            target_nodes=nodes,
            **kw,
        )

    def version(
        self,
        pv: dict[str, Any],
        settings: Settings,
        contributions: Mapping[tuple[str, str], list[Contribution]],
        used_by: Mapping[str, list[str]],
        id_index: Mapping[str, str],
    ) -> ResolvedVersion:
        v: m.ImageVersion = pv["model"]
        v_addr = pv["address"]
        file, raw = pv["file"], pv["raw"]
        regions: dict[str, ResolvedTargetRegion] = {}
        declared = v.targetRegions or [m.TargetRegion(name=pv["location"], replicas=None)]
        raw_regions = raw.get("targetRegions")
        for index, region in enumerate(declared):
            name = ids.normalize_location(region.name)
            if not v.targetRegions:
                at: At = (file, *raw.pos)
            elif isinstance(raw_regions, YList) and index < len(raw_regions):
                # What `where` answers for ("targetRegions", index), without the walk:
                # this runs for every region of every version.
                at = (file, *raw_regions.item_pos[index])
            else:  # pragma: no cover - the model was validated from this very list
                at = self.where(file, raw, "targetRegions", index)
            if name in regions:
                self.diags.append(
                    diag(
                        "RC006",
                        f"{v_addr} lists target region {name} twice",
                        hint="list each region once",
                        address=v_addr,
                        at=at,
                    )
                )
                continue
            sizing = size_replicas(
                name,
                tuple(contributions.get((v_addr, name), ())),
                region.replicas,
                settings.vms_per_replica,
            )
            regions[name] = ResolvedTargetRegion(
                name=name,
                replicas=sizing.final,
                declared_replicas=region.replicas,
                storage_account_type=region.storageAccountType,
                sizing=sizing,
                declared_at=SourceLocation(*at),
            )
        extra: dict[str, Any] = dict(pv["azure"].values)
        complete: list[str] = list(pv["azure"].complete)
        for index, region in enumerate(v.targetRegions):
            if _REGION_MEMBERS.isdisjoint(raw["targetRegions"][index]):
                continue
            members, problems = azure_members.check_at(
                Kind.VERSION,
                surface.REGION_ITEM,
                raw["targetRegions"][index],
                surface.REGION_MEMBERS,
                prefix=f"targetRegions[{ids.normalize_location(region.name)}].",
                address=v_addr,
                where=partial(self.where_in, file, raw, ("targetRegions", index)),
            )
            self.diags.extend(problems)
            extra.update(members.values)
            complete.extend(members.complete)
        azure = AzureMembers(extra, tuple(complete))
        src = v.source
        if src.snapshots is not None:
            source = VersionSource(
                kind="snapshots",
                os_disk_snapshot_id=src.snapshots.osDisk,
                data_disks=tuple(DataDisk(d.lun, d.snapshot) for d in src.snapshots.dataDisks),
            )
        elif src.vhd is None:
            # A kind named by one id; it is a version or managed image of this spec or not.
            kind, source_id = next(
                (k, getattr(src, k)) for k in _ONE_ID_SOURCES if getattr(src, k) is not None
            )
            source = VersionSource(
                kind=kind, id=source_id, depends_on=id_index.get(ids.normalize_id(source_id))
            )
        else:
            source = VersionSource(
                kind="vhd",
                vhd_os_disk=VhdDisk(src.vhd.osDisk.uri, src.vhd.osDisk.storageAccountId),
                vhd_data_disks=tuple(
                    VhdDisk(d.uri, d.storageAccountId, d.lun) for d in src.vhd.dataDisks
                ),
            )
        return ResolvedVersion(
            address=v_addr,
            name=v.name,
            gallery=pv["gallery"],
            definition=pv["definition"],
            image_address=pv["image_address"],
            id=pv["id"],
            subscription=pv["subscription"],
            resource_group=pv["resource_group"],
            location=pv["location"],
            source=source,
            target_regions=MappingProxyType(regions),
            exclude_from_latest=v.excludeFromLatest,
            end_of_life_date=v.endOfLifeDate,
            tags=frozen_map(v.tags),
            version_tuple=pv["version_tuple"],
            used_by=tuple(used_by.get(v_addr, ())),
            declared_at=self.loc(file, raw),
            azure=azure,
        )


# A version's target region: its members besides the friendly `name`, `replicas` and
# `storageAccountType`, under Azure's names.
_REGION_MEMBERS = frozenset(surface.REGION_MEMBERS)
# The version sources named by one id (the others, snapshots and VHDs, name each disk).
_ONE_ID_SOURCES: tuple[VersionSourceKind, ...] = (
    "managedImage",
    "galleryImageVersion",
    "virtualMachine",
    "communityGalleryImage",
)
_ROOT_KEYS = frozenset(surface.ROOT_KEYS)


def derived_owner(files: tuple[str, ...]) -> str:
    """The owner name of a spec without ``settings.owner``: its folder's name.

    The folder is the deepest one holding every spec file (``specs/production`` for
    both of its files), taken from the real path, so ``plan .`` inside it and
    ``plan specs/production`` from the repository agree. Lower-cased, other characters
    than letters, digits, ``.``, ``_``, ``-`` become ``-``; empty without files.
    """
    if not files:
        return ""
    parents = [os.path.dirname(os.path.realpath(f)) for f in files]
    folder = os.path.basename(os.path.commonpath(parents)) if parents else ""
    name = re.sub(r"[^a-z0-9._-]+", "-", folder.lower()).strip("._-")[:64].strip("._-")
    return name or "spec"


def _marketplace(ref: m.PoolImage) -> PoolImageRef:
    """A Marketplace image: nothing in the spec to resolve; the version defaults to latest."""
    assert ref.publisher is not None and ref.offer is not None and ref.sku is not None
    return PoolImageRef(
        kind="marketplace",
        image_kind="marketplace",
        id="",
        address=None,
        marketplace=MarketplaceImage(ref.publisher, ref.offer, ref.sku, ref.version or "latest"),
    )


def _unresolved(ref: m.PoolImage) -> PoolImageRef:
    """The image of a pool whose target is missing or broken: its kind, no id, no address."""
    if ref.managedImage is not None:
        return PoolImageRef(
            kind="managedImage",
            image_kind="managedImage",
            id="",
            address=None,
            managed_image=ref.managedImage,
        )
    return PoolImageRef(
        kind="gallery",
        image_kind="galleryImageVersion",
        id="",
        address=None,
        gallery=ref.gallery,
        definition=ref.definition,
        declared_version=ref.version or "latest",
    )


def resolve(
    loaded: Loaded, *, today: dt.date | None = None
) -> tuple[ResolvedSpec, list[Diagnostic]]:
    """Build the resolved spec from validated files and run every spec rule on it."""
    from reconciler.spec.rules import run_rules  # rules imports this module

    day = today or dt.datetime.now(dt.UTC).date()
    builder = _Builder(loaded, day)
    ctx = builder.build()
    return ctx.spec, [*builder.diags, *run_rules(ctx)]


def _managed_image_source(src: m.ManagedImageSource) -> ManagedImageSource:
    """The kind of OS disk a managed image's `source` names (the model allows exactly one),
    and its data disks of every kind, in lun order."""
    data = [ImageDataDisk(d.lun, "dataDiskSnapshots", d.snapshot) for d in src.dataDiskSnapshots]
    data += [
        ImageDataDisk(d.lun, "dataDiskManagedDisks", d.managedDisk)
        for d in src.dataDiskManagedDisks
    ]
    data += [ImageDataDisk(d.lun, "dataDiskBlobUris", d.blobUri) for d in src.dataDiskBlobUris]
    disks = tuple(sorted(data, key=lambda d: d.lun))
    if src.osDiskSnapshot is not None:
        return ManagedImageSource("osDiskSnapshot", src.osDiskSnapshot, disks)
    if src.osDiskManagedDisk is not None:
        return ManagedImageSource("osDiskManagedDisk", src.osDiskManagedDisk, disks)
    if src.osDiskBlobUri is not None:
        return ManagedImageSource("osDiskBlobUri", src.osDiskBlobUri, disks)
    assert src.virtualMachine is not None
    return ManagedImageSource("virtualMachine", src.virtualMachine)
