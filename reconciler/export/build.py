"""Live state → spec files: what `reconcile export` writes, in the spec's own idiom.

Pure: a `LiveState` (plus, per resource id, the members the spec cannot express and the
few values Azure returns that the flat state leaves out) goes in; the text of each spec
file, the diagnostics found, the secret variables to set and a summary come out.

How values are written:
- ids in Azure's usual casing; regions as ARM names; durations ISO-8601;
- a pool's image as ``{gallery, definition, version}`` when that version is exported,
  ``{managedImage}`` for an exported managed image, ``{publisher, offer, sku, version}``
  for a Marketplace image (``version`` left out when ``latest``), ``{id}`` otherwise;
- computed values (R1 replicas, R2/R3 resizeTimeout) left out when live equals the
  computed value, kept as a floor when higher (with the arithmetic in a comment),
  left out and flagged (RC602/RC603) when lower: the first plan raises them;
- Azure's defaults (`reconciler.plan.diff.DEFAULTS`, ``Standard_LRS``, ``V1``…) left out;
- reconcile's own marks (``managed-by``, ``reconcile-owner``, ``reconcile-applied``
  tags, ``reconcile.*`` pool metadata) never exported as the user's;
- every writable member the friendly keys do not own is written under Azure's names
  (``identity:``, ``properties:``, ``extendedLocation:``), values Azure fills in by
  itself left out (`reconciler.export.members`);
- start-task environment values named like secrets (the RC301 rule) become
  ``${env:NAME}`` references, NAME = pool name + variable name, upper case; so does each
  member Azure marks secret that the resource needs (Azure never returns them), NAME =
  pool name + where it sits + member (``RENDER_MOUNT_SCENES_ACCOUNT_KEY``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.diagnostics import Diagnostic, diag
from reconciler.export.members import azure_blocks, folded_version_members, secret_references
from reconciler.export.yamltext import Commented, dump
from reconciler.plan.diff import DEFAULTS
from reconciler.spec.models import API_VERSION, P_OWNER
from reconciler.spec.secrets import looks_secret
from reconciler.spec.sizing import (
    DEFAULT_MINUTES_PER_1000_NODES,
    DEFAULT_VMS_PER_REPLICA,
    Contribution,
    duration_seconds,
    size_replicas,
    size_resize_timeout,
)
from reconciler.state.model import (
    APPLIED_METADATA_KEY,
    APPLIED_TAG,
    OWNER_METADATA_KEY,
    OWNER_NAME_METADATA_KEY,
    OWNER_NAME_TAG,
    OWNER_TAG,
    Kind,
    LiveResource,
    LiveState,
    int_at,
)
from reconciler.state.scope import parse_id

IMAGES_FILE = "images.yaml"
POOLS_FILE = "pools.yaml"
SCHEMA_FILE = "spec.schema.json"
DEFAULT_STORAGE = "Standard_LRS"

_MANAGED_IMAGE_ID = re.compile(r"/providers/microsoft\.compute/images/[^/]+$")
_MIN_CAP = re.compile(r"min\s*\(\s*(\d+)\s*,|,\s*(\d+)\s*\)")
_MIN_CALL = re.compile(r"min\s*\(([^;]*)")

# Segment spellings Azure uses in ids (the flat state keeps ids lower-case).
_ID_WORDS = {
    w.lower(): w
    for w in (
        "subscriptions",
        "resourceGroups",
        "providers",
        "Microsoft.Compute",
        "Microsoft.Network",
        "Microsoft.Batch",
        "galleries",
        "images",
        "versions",
        "snapshots",
        "virtualMachines",
        "virtualNetworks",
        "subnets",
        "publicIPAddresses",
        "batchAccounts",
        "Microsoft.ManagedIdentity",
        "userAssignedIdentities",
        "diskEncryptionSets",
        "Microsoft.Storage",
        "storageAccounts",
        "networkSecurityGroups",
    )
}


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """Where and when the export was read, and the folder-name fallback for the owner."""

    where: str
    when: str
    scope: str
    folder: str = "exported"
    galleries: tuple[str, ...] = ()  # only these gallery names (empty: every one read)
    # Unowned managed images no exported pool boots are build outputs (a version's source,
    # usually): exporting them would make the spec own, and later prune, a pipeline's work.
    all_managed_images: bool = False
    schema: str = SCHEMA_FILE
    vms_per_replica: int = DEFAULT_VMS_PER_REPLICA
    minutes_per_1000_nodes: int = DEFAULT_MINUTES_PER_1000_NODES


@dataclass(frozen=True, slots=True)
class SecretVariable:
    """An environment variable the exported spec refers to, and where: a start-task
    `variable`, or a `member` Azure marks secret (its REST path)."""

    name: str
    pool: str  # address of the resource that refers to it
    variable: str = ""
    member: str = ""

    @property
    def what(self) -> str:
        return f"start-task variable {self.variable}" if self.variable else self.member


@dataclass(frozen=True, slots=True)
class ExportedFile:
    """One file to write into the export folder."""

    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Export:
    """Everything one export produces."""

    files: tuple[ExportedFile, ...]
    diagnostics: tuple[Diagnostic, ...]
    secrets: tuple[SecretVariable, ...]
    unexpressed: tuple[tuple[str, tuple[str, ...]], ...]
    counts: Mapping[str, int]
    owner: str
    adopt: bool
    skipped_images: tuple[str, ...] = ()  # unowned, unbooted managed images left out


@dataclass
class _Notes:
    """Comments and diagnostics gathered per address while building."""

    comments: dict[str, list[str]] = field(default_factory=dict)
    found: list[tuple[str, str, str, str]] = field(default_factory=list)  # addr, code, msg, hint

    def note(self, address: str, text: str) -> None:
        self.comments.setdefault(address, []).append(text)

    def problem(self, address: str, code: str, message: str, hint: str = "") -> None:
        self.found.append((address, code, message, hint))
        self.note(address, f"{code}: {message}")


_NAMESPACES = frozenset(w for w in _ID_WORDS if w.startswith("microsoft."))


_SHARED_WORDS = {
    w.lower(): w for w in ("SharedGalleries", "CommunityGalleries", "Images", "Versions")
}


def _shared_spelling(image_id: str) -> str:
    """A shared or community gallery image's id with its fixed segments as Azure spells
    them (``/SharedGalleries/{name}/Images/{def}/Versions/{ver}``)."""
    parts = image_id.strip("/").split("/")
    return "/" + "/".join(_SHARED_WORDS.get(p, p) if i % 2 == 0 else p for i, p in enumerate(parts))


def pretty_id(resource_id: str) -> str:
    """A canonical (lower-case) id in Azure's usual spelling of its fixed segments."""
    parts = resource_id.strip("/").split("/")
    out = []
    for index, part in enumerate(parts):
        # Names sit at odd positions after the provider namespace; types at even ones.
        is_word = index % 2 == 0 or part in _NAMESPACES
        out.append(_ID_WORDS.get(part, part) if is_word else part)
    return "/" + "/".join(out)


_SIZE_PART = re.compile(r"([A-Za-z]+)(\d.*)?")


def vm_size_spelling(size: str) -> str:
    """A VM size in one case (Azure echoes ``STANDARD_D8S_V5``) in its documented
    spelling (``Standard_D8s_v5``); a mixed-case spelling is kept as written."""
    if size not in (size.upper(), size.lower()) or "_" not in size:
        return size
    tier, *parts = size.split("_")
    out = [tier.capitalize()]
    for index, part in enumerate(parts):
        part = part.upper()
        match = _SIZE_PART.fullmatch(part)
        if re.fullmatch(r"V\d+", part):
            out.append(part.lower())  # the generation: v5
        elif index == 0 and match:
            # Family letters, then the vCPU count and lower-case feature letters: D8s, E64-16ds.
            out.append(match[1] + (match[2] or "").lower())
        else:
            out.append(part)  # accelerators and the like: A100, T4
    return "_".join(out)


def _placement(resource: LiveResource) -> dict[str, Any]:
    """Where a top-level resource sits: its subscription, resource group and region."""
    rid = parse_id(resource.id)
    return {
        "subscription": rid.subscription,
        "resourceGroup": rid.resource_group,
        "location": resource.location,
    }


def _user_entries(
    props: Mapping[str, Any], head: str, own: tuple[str, ...], record: str
) -> dict[str, str]:
    """The user's entries under `head` (tags, metadata), sorted: reconcile's marks left out."""
    prefix = f"{head}."
    out = {}
    for path, value in props.items():
        if not path.startswith(prefix):
            continue
        key = path[len(prefix) :]
        if key in own or key.startswith(record):
            continue
        out[key] = str(value)
    return dict(sorted(out.items()))


def _user_tags(props: Mapping[str, Any]) -> dict[str, str]:
    return _user_entries(props, "tags", (OWNER_TAG, OWNER_NAME_TAG), APPLIED_TAG)


def _user_metadata(props: Mapping[str, Any]) -> dict[str, str]:
    own = (OWNER_METADATA_KEY, OWNER_NAME_METADATA_KEY)
    return _user_entries(props, "metadata", own, APPLIED_METADATA_KEY)


def _is_default(kind: Kind, path: str, value: Any) -> bool:
    for pattern, default in DEFAULTS.get(kind, ()):
        if re.fullmatch(pattern, path) and value == default and type(value) is type(default):
            return True
    return False


def _keyed(props: Mapping[str, Any], head: str) -> dict[str, dict[str, Any]]:
    pattern = re.compile(rf"^{re.escape(head)}\[([^\]]+)\](?:\.(.+))?$")
    out: dict[str, dict[str, Any]] = {}
    for path, value in props.items():
        match = pattern.match(path)
        if match:
            out.setdefault(match[1], {})[match[2] or ""] = value
    return out


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in name.split("."))
    except ValueError:
        return (2**31,)


def env_name(*parts: str) -> str:
    """``render`` + ``LICENSE_KEY`` → ``RENDER_LICENSE_KEY`` (letters, digits, ``_``)."""
    text = "_".join(re.sub(r"[^A-Za-z0-9]+", "_", p).strip("_").upper() for p in parts if p)
    return text if text and not text[0].isdigit() else f"V_{text}"


def max_nodes_from_formula(formula: str) -> int | None:
    """The largest ``min(N, …)`` / ``min(…, N)`` cap in an autoscale formula, if any."""
    caps = []
    for call in _MIN_CALL.finditer(formula):
        for match in _MIN_CAP.finditer("min(" + call.group(1)):
            caps.append(int(match.group(1) or match.group(2)))
    return max(caps) if caps else None


def _owner_fallback(folder: str) -> str:
    name = re.sub(r"[^a-z0-9._-]+", "-", folder.lower()).strip("-._")[:64].strip("-._")
    return name if name and re.fullmatch(P_OWNER, name) else "exported"


class _Builder:
    def __init__(
        self,
        live: LiveState,
        options: ExportOptions,
        unexpressed: Mapping[str, tuple[str, ...]],
        read_back: Mapping[str, Mapping[str, Any]],
    ) -> None:
        self.live = live
        self.options = options
        self.unexpressed_in = unexpressed
        self.read_back = read_back
        self.notes = _Notes()
        self.secrets: list[SecretVariable] = []
        self.unexpressed: list[tuple[str, tuple[str, ...]]] = []
        wanted = {g.lower() for g in options.galleries}
        self.galleries = [
            g for g in live.of_kind(Kind.GALLERY) if not wanted or g.name.lower() in wanted
        ]
        gallery_ids = {g.id for g in self.galleries}
        self.images = [
            i for i in live.of_kind(Kind.IMAGE) if parse_id(i.id).parent_id in gallery_ids
        ]
        image_ids = {i.id for i in self.images}
        self.versions = [
            v for v in live.of_kind(Kind.VERSION) if parse_id(v.id).parent_id in image_ids
        ]
        self.accounts = list(live.of_kind(Kind.BATCH_ACCOUNT))
        account_ids = {a.id for a in self.accounts}
        self.pools = [p for p in live.of_kind(Kind.POOL) if parse_id(p.id).parent_id in account_ids]
        booted = {p.image_id for p in self.pools}
        self.managed_images = [
            m
            for m in live.of_kind(Kind.MANAGED_IMAGE)
            if options.all_managed_images or m.owned or m.id in booted
        ]
        kept = {m.id for m in self.managed_images}
        self.skipped_images = tuple(
            m.address for m in live.of_kind(Kind.MANAGED_IMAGE) if m.id not in kept
        )
        self.version_by_id = {v.id: v for v in self.versions}
        # Children by parent id, once: the walk below must stay linear in the estate.
        self.children: dict[str, list[LiveResource]] = {}
        for child in (*self.images, *self.versions, *self.pools):
            self.children.setdefault(parse_id(child.id).parent_id, []).append(child)
        self.image_by_id = {m.id: m for m in self.managed_images}
        self.account_by_id = {a.id: a for a in self.accounts}
        # Managed images are referred to by name: only when that name is unique.
        names = Counter(m.name.lower() for m in self.managed_images)
        self.image_ref_ok = {m.id for m in self.managed_images if names[m.name.lower()] == 1}

    # -- shared ------------------------------------------------------------------------

    def everything(self) -> list[LiveResource]:
        return [
            *self.galleries,
            *self.images,
            *self.versions,
            *self.managed_images,
            *self.pools,
        ]

    def props(self, resource: LiveResource) -> dict[str, Any]:
        return {**resource.properties, **self.read_back.get(resource.id, {})}

    def commented(self, address: str, value: Any) -> Commented:
        return Commented(value, tuple(self.notes.comments.get(address, ())), anchor=address)

    def members_doc(
        self, resource: LiveResource, props: Mapping[str, Any], skip: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """What every kind ends with: the user's tags, then the Azure-named members."""
        tags = _user_tags(props)
        return {**({"tags": tags} if tags else {}), **self.azure_doc(resource, props, skip)}

    def azure_doc(
        self, resource: LiveResource, props: Mapping[str, Any], skip: frozenset[str] = frozenset()
    ) -> dict[str, Any]:
        """The resource's Azure-named members as ``identity:`` / ``properties:`` blocks,
        with a ``${env:NAME}`` reference for each secret it needs (Azure returns none)."""
        blocks = azure_blocks(resource.kind, props, skip=skip, pretty=pretty_id)
        if not blocks:
            return blocks

        def name_for(words: tuple[str, ...], member: str) -> str:
            return self.unique_secret_name(resource, words, member=member)

        for name, member in secret_references(resource.kind, blocks, name_for):
            self.notes.problem(
                resource.address,
                "RC605",
                f"{member} is a secret Azure does not return: exported as ${{env:{name}}}",
                f"export {name} where `reconcile apply` runs",
            )
        return blocks

    def note_unexpressed(self, resource: LiveResource, extra: Iterable[str] = ()) -> None:
        members = tuple(sorted({*self.unexpressed_in.get(resource.id, ()), *extra}))
        if not members:
            return
        self.unexpressed.append((resource.address, members))
        shown = ", ".join(m.removeprefix("properties.") for m in members)
        self.notes.problem(
            resource.address,
            "RC606",
            f"not exported (the spec cannot express them yet; left untouched): {shown}",
            "writes merge into live state, so these members stay as they are",
        )

    # -- sizing ------------------------------------------------------------------------

    def pool_nodes(self, pool: LiveResource) -> tuple[int, str]:
        props = pool.properties
        if "scale.autoScale.formula" in props:
            cap = max_nodes_from_formula(str(props["scale.autoScale.formula"]))
            if cap is not None:
                return cap, f"autoscale maxNodes {cap}"
            current = (pool.current_dedicated or 0) + (pool.current_low_priority or 0)
            return max(current, 1), f"autoscale maxNodes {max(current, 1)} (estimated)"
        dedicated = int_at(props, "scale.fixed.dedicated")
        low = int_at(props, "scale.fixed.lowPriority")
        return dedicated + low, f"{dedicated} dedicated + {low} low-priority"

    def contributions(self) -> dict[tuple[str, str], list[Contribution]]:
        out: dict[tuple[str, str], list[Contribution]] = {}
        self.needs_by_version: dict[str, dict[tuple[str, str], list[Contribution]]] = {}
        for pool in self.pools:
            if pool.image_id is None:
                continue
            nodes, how = self.pool_nodes(pool)
            out.setdefault((pool.image_id, pool.location), []).append(
                Contribution(pool.address, nodes, how)
            )
        for (image_id, region), found in out.items():
            self.needs_by_version.setdefault(image_id, {})[(image_id, region)] = found
        return out

    # -- galleries -----------------------------------------------------------------------

    def version_doc(
        self,
        version: LiveResource,
        gallery_location: str,
        needs: Mapping[tuple[str, str], list[Contribution]],
    ) -> Commented:
        props = self.props(version)
        doc: dict[str, Any] = {"name": version.name}
        source: dict[str, Any] = {}
        for kind in ("managedImage", "galleryImageVersion", "virtualMachine"):
            if f"source.{kind}" in props:
                source[kind] = pretty_id(str(props[f"source.{kind}"]))
        if "source.snapshots.osDisk" in props:
            snaps: dict[str, Any] = {"osDisk": pretty_id(str(props["source.snapshots.osDisk"]))}
            disks = _keyed(props, "source.snapshots.dataDisks")
            if disks:
                snaps["dataDisks"] = [
                    {"lun": int(lun), "snapshot": pretty_id(str(f[""]))}
                    for lun, f in sorted(disks.items(), key=lambda kv: int(kv[0]))
                ]
            source["snapshots"] = snaps
        if source:
            doc["source"] = source
        regions = _keyed(props, "targetRegions")
        order = sorted(regions, key=lambda r: (r != gallery_location, r))
        written: list[Any] = []
        simple = True
        for region in order:
            fields = regions[region]
            item: dict[str, Any] = {"name": region}
            comments: list[str] = []
            sizing = size_replicas(
                region,
                tuple(needs.get((version.id, region), ())),
                None,
                self.options.vms_per_replica,
            )
            live_count = fields.get("replicas")
            if isinstance(live_count, int) and live_count > sizing.computed:
                item["replicas"] = live_count
                comments.append(
                    f"replicas {live_count} kept as a floor (needs {sizing.computed}: {sizing.arithmetic})"
                )
            elif isinstance(live_count, int) and live_count < sizing.computed:
                message = (
                    f"{region} has {live_count} replica(s), below the computed "
                    f"{sizing.computed}; the first plan raises them ({sizing.arithmetic})"
                )
                self.notes.problem(
                    version.address, "RC602", message, "apply the first plan to fix it"
                )
            storage = fields.get("storageAccountType")
            if storage and storage != DEFAULT_STORAGE:
                item["storageAccountType"] = storage
            if len(item) > 1 or region != gallery_location:
                simple = False
            written.append(Commented(item, tuple(comments)) if comments else item)
        booted = sorted((r, f) for (i, r), f in self.needs_by_version.get(version.id, {}).items())
        for region, found in booted:
            if region not in regions:
                pools = ", ".join(c.pool for c in found)
                self.notes.problem(
                    version.address,
                    "RC608",
                    f"{pools} boot(s) it in {region}, where it has no replica "
                    "(validate reports RC203)",
                    f"add {region} to targetRegions",
                )
        if written and not (simple and len(written) == 1):
            doc["targetRegions"] = written
        if props.get("excludeFromLatest") is True:
            doc["excludeFromLatest"] = True
        if props.get("endOfLifeDate"):
            doc["endOfLifeDate"] = str(props["endOfLifeDate"])
        doc.update(self.members_doc(version, props, folded_version_members(props)))
        self.note_unexpressed(version)
        return self.commented(version.address, doc)

    def gallery_doc(
        self, gallery: LiveResource, needs: Mapping[tuple[str, str], list[Contribution]]
    ) -> tuple[dict[str, Any], Commented]:
        props = self.props(gallery)
        placement = _placement(gallery)
        doc: dict[str, Any] = {"name": gallery.name}
        if props.get("description"):
            doc["description"] = props["description"]
        doc.update(self.members_doc(gallery, props))
        images = []
        for image in sorted(self.children.get(gallery.id, ()), key=lambda i: i.name):
            images.append(self.image_doc(image, gallery.location, needs))
        if images:
            doc["images"] = images
        self.note_unexpressed(gallery)
        return placement, self.commented(gallery.address, doc)

    def image_doc(
        self,
        image: LiveResource,
        gallery_location: str,
        needs: Mapping[tuple[str, str], list[Contribution]],
    ) -> Commented:
        props = self.props(image)
        doc: dict[str, Any] = {"name": image.name}
        for name in ("osType", "osState", "hyperVGeneration", "architecture"):
            value = props.get(name)
            if value is not None and not _is_default(Kind.IMAGE, name, value):
                doc[name] = value
        doc["identifier"] = {
            part: props.get(f"identifier.{part}", "") for part in ("publisher", "offer", "sku")
        }
        if props.get("description"):
            doc["description"] = props["description"]
        doc.update(self.members_doc(image, props))
        versions = sorted(self.children.get(image.id, ()), key=lambda v: _version_key(v.name))
        if versions:
            doc["versions"] = [self.version_doc(v, gallery_location, needs) for v in versions]
        self.note_unexpressed(image)
        return self.commented(image.address, doc)

    def managed_image_doc(self, image: LiveResource) -> tuple[dict[str, Any], Commented]:
        props = self.props(image)
        placement = _placement(image)
        doc: dict[str, Any] = {"name": image.name}
        if props.get("osType"):
            doc["osType"] = props["osType"]
        if props.get("hyperVGeneration"):
            doc["hyperVGeneration"] = props["hyperVGeneration"]
        source: dict[str, Any] = {}
        if props.get("source.osDiskSnapshot"):
            source["osDiskSnapshot"] = pretty_id(str(props["source.osDiskSnapshot"]))
        disks = _keyed(props, "source.dataDiskSnapshots")
        if disks:
            source["dataDiskSnapshots"] = [
                {"lun": int(lun), "snapshot": pretty_id(str(f[""]))}
                for lun, f in sorted(disks.items(), key=lambda kv: int(kv[0]))
            ]
        doc["source"] = source
        doc.update(self.members_doc(image, props))
        self.note_unexpressed(image)
        return placement, self.commented(image.address, doc)

    # -- Batch -------------------------------------------------------------------------

    def pool_image(self, pool: LiveResource, account: LiveResource) -> dict[str, Any]:
        props = self.props(pool)
        if pool.image_id is None and props.get("image.publisher"):
            # A Marketplace image: its names as Azure holds them; `latest` is the default.
            market = {m: props[f"image.{m}"] for m in ("publisher", "offer", "sku")}
            version = props.get("image.version")
            if version and str(version).lower() != "latest":
                market["version"] = version
            return market
        image_id = pool.image_id or ""
        if image_id and not image_id.startswith("/subscriptions/"):
            return {"id": _shared_spelling(image_id)}  # a shared or community gallery's
        version = self.version_by_id.get(image_id)
        account_sub = parse_id(account.id).subscription
        if image_id and parse_id(image_id).subscription != account_sub:
            self.notes.problem(
                pool.address,
                "RC604",
                f"its image is in subscription {parse_id(image_id).subscription}, its Batch "
                f"account in {account_sub} (validate reports RC202)",
                "publish a version in a gallery of the account's subscription",
            )
        if _MANAGED_IMAGE_ID.search(image_id):
            self.notes.problem(
                pool.address,
                "RC601",
                "it boots a legacy managed image; plan keeps the pool but would refuse to "
                "create it again (RC502)",
                "publish the image as a gallery version and point the pool at it",
            )
        if version is not None:
            rid = parse_id(version.id)
            return {"gallery": rid.names[0], "definition": rid.names[1], "version": version.name}
        managed = self.image_by_id.get(image_id)
        if managed is not None and managed.id in self.image_ref_ok:
            return {"managedImage": managed.name}
        return {"id": pretty_id(image_id)}

    def pool_doc(self, pool: LiveResource, account: LiveResource) -> Commented:
        props = self.props(pool)
        doc: dict[str, Any] = {"name": pool.name}
        if props.get("displayName"):
            doc["displayName"] = props["displayName"]
        doc["vmSize"] = vm_size_spelling(str(props.get("vmSize", "")))
        doc["image"] = self.pool_image(pool, account)
        doc["nodeAgentSkuId"] = props.get("nodeAgentSkuId", "")
        doc["scale"] = self.scale_doc(pool, props)
        start = self.start_task_doc(pool, props)
        if start:
            doc["startTask"] = start
        slots = props.get("taskSlotsPerNode")
        if slots is not None and not _is_default(Kind.POOL, "taskSlotsPerNode", slots):
            doc["taskSlotsPerNode"] = slots
        network = self.network_doc(props)
        if network:
            doc["network"] = network
        metadata = _user_metadata(props)
        if metadata:
            doc["metadata"] = metadata
        inter = props.get("interNodeCommunication")
        if inter is not None and not _is_default(Kind.POOL, "interNodeCommunication", inter):
            doc["interNodeCommunication"] = inter
        doc.update(self.members_doc(pool, props))
        self.note_unexpressed(pool)
        return self.commented(pool.address, doc)

    def scale_doc(self, pool: LiveResource, props: Mapping[str, Any]) -> dict[str, Any]:
        if "scale.autoScale.formula" in props:
            formula = str(props["scale.autoScale.formula"])
            auto: dict[str, Any] = {"formula": formula}
            interval = props.get("scale.autoScale.evaluationInterval")
            if interval and not _is_default(
                Kind.POOL, "scale.autoScale.evaluationInterval", interval
            ):
                auto["evaluationInterval"] = interval
            nodes, how = self.pool_nodes(pool)
            if max_nodes_from_formula(formula) is None:
                self.notes.problem(
                    pool.address,
                    "RC607",
                    f"no min(N, …) cap in its formula: maxNodes {nodes} is its current node count",
                    "set maxNodes to the most nodes the formula can ask for",
                )
            auto["maxNodes"] = nodes
            return {"autoScale": auto}
        fixed: dict[str, Any] = {}
        dedicated = int_at(props, "scale.fixed.dedicated")
        low = int_at(props, "scale.fixed.lowPriority")
        if dedicated:
            fixed["dedicated"] = dedicated
        if low:
            fixed["lowPriority"] = low
        if not fixed:
            fixed["dedicated"] = 0
        timeout = props.get("scale.fixed.resizeTimeout")
        if isinstance(timeout, str):
            sizing = size_resize_timeout(
                dedicated + low,
                None,
                self.options.minutes_per_1000_nodes,
                managed_image=bool(_MANAGED_IMAGE_ID.search(pool.image_id or "")),
            )
            minutes = duration_seconds(timeout) / 60
            if minutes > sizing.computed_minutes:
                fixed["resizeTimeout"] = Commented(
                    timeout,
                    (
                        f"resizeTimeout kept as a floor (needs {sizing.computed_minutes} min: "
                        f"{sizing.arithmetic})",
                    ),
                )
            elif minutes < sizing.computed_minutes:
                self.notes.problem(
                    pool.address,
                    "RC603",
                    f"resizeTimeout {timeout} is below the computed {sizing.final}; the first "
                    f"plan raises it ({sizing.arithmetic})",
                    "apply the first plan to fix it",
                )
        option = props.get("scale.fixed.nodeDeallocationOption")
        if option:
            fixed["nodeDeallocationOption"] = option
        return {"fixed": fixed}

    def start_task_doc(self, pool: LiveResource, props: Mapping[str, Any]) -> dict[str, Any]:
        if "startTask.commandLine" not in props:
            return {}
        start: dict[str, Any] = {"commandLine": props["startTask.commandLine"]}
        env = {
            k[len("startTask.environment.") :]: v
            for k, v in props.items()
            if k.startswith("startTask.environment.")
        }
        if env:
            out = {}
            for name, value in sorted(env.items()):
                if looks_secret(name):
                    variable = self.secret_name(pool, name)
                    out[name] = f"${{env:{variable}}}"
                    self.notes.problem(
                        pool.address,
                        "RC605",
                        f"start-task variable {name} looks like a secret: exported as "
                        f"${{env:{variable}}}, its value is not written",
                        f"export {variable} where `reconcile apply` runs",
                    )
                else:
                    out[name] = str(value)
            start["environment"] = out
        for name in ("waitForSuccess", "maxTaskRetryCount"):
            value = props.get(f"startTask.{name}")
            if value is not None and not _is_default(Kind.POOL, f"startTask.{name}", value):
                start[name] = value
        identity = {}
        for name in ("elevationLevel", "scope"):
            value = props.get(f"startTask.userIdentity.{name}")
            if value is not None and not _is_default(
                Kind.POOL, f"startTask.userIdentity.{name}", value
            ):
                identity[name] = value
        if identity:
            start["userIdentity"] = identity
        return start

    def secret_name(self, pool: LiveResource, variable: str) -> str:
        return self.unique_secret_name(pool, (variable,), variable=variable)

    def unique_secret_name(
        self,
        resource: LiveResource,
        words: tuple[str, ...],
        *,
        variable: str = "",
        member: str = "",
    ) -> str:
        """``POOL_WORDS``; with the parent's name first if taken, then a number."""
        taken = {s.name for s in self.secrets}
        name = env_name(resource.name, *words)
        if name in taken:
            parent = parse_id(resource.id).names[:-1]
            name = env_name(*parent, resource.name, *words)
        base, number = name, 2
        while name in taken:
            name, number = f"{base}_{number}", number + 1
        self.secrets.append(SecretVariable(name, resource.address, variable, member))
        return name

    def network_doc(self, props: Mapping[str, Any]) -> dict[str, Any]:
        network: dict[str, Any] = {}
        if props.get("network.subnetId"):
            network["subnetId"] = pretty_id(str(props["network.subnetId"]))
        if props.get("network.publicIPAddressProvisioningType"):
            network["publicIPAddressProvisioningType"] = props[
                "network.publicIPAddressProvisioningType"
            ]
        ips = props.get("network.publicIPs")
        if ips:
            network["publicIPs"] = [pretty_id(str(i)) for i in ips]
        nats = _keyed(props, "network.inboundNatPools")
        if nats:
            network["inboundNatPools"] = [
                {
                    "name": name,
                    **{
                        k: f[k]
                        for k in (
                            "protocol",
                            "backendPort",
                            "frontendPortRangeStart",
                            "frontendPortRangeEnd",
                        )
                        if k in f
                    },
                }
                for name, f in sorted(nats.items())
            ]
        return network

    def account_doc(self, account: LiveResource) -> tuple[dict[str, Any], Commented]:
        placement = _placement(account)
        doc: dict[str, Any] = {"name": account.name}
        pools = sorted(self.children.get(account.id, ()), key=lambda p: p.name)
        if pools:
            doc["pools"] = [self.pool_doc(p, account) for p in pools]
        return placement, self.commented(account.address, doc)


def _factor(
    items: list[tuple[dict[str, Any], Commented]],
) -> tuple[dict[str, str], list[Commented]]:
    """`defaults` holding each placement field every item shares; the rest stays per item."""
    defaults: dict[str, str] = {}
    for name in ("subscription", "resourceGroup", "location"):
        values = {p[name] for p, _ in items}
        if len(values) == 1:
            defaults[name] = values.pop()
    out = []
    for placement, doc in items:
        own = {k: v for k, v in placement.items() if k not in defaults}
        value = dict(doc.value)
        first = {"name": value.pop("name")}
        out.append(Commented({**first, **own, **value}, doc.comments, doc.anchor))
    return defaults, out


def build_export(
    live: LiveState,
    options: ExportOptions,
    *,
    unexpressed: Mapping[str, tuple[str, ...]] | None = None,
    read_back: Mapping[str, Mapping[str, Any]] | None = None,
) -> Export:
    """The spec files for what `live` holds (see the module docstring)."""
    b = _Builder(live, options, unexpressed or {}, read_back or {})
    needs = b.contributions()
    # Each resource's comments are complete when its own document is made (children first).
    galleries = [b.gallery_doc(g, needs) for g in sorted(b.galleries, key=lambda g: g.name)]
    images = [b.managed_image_doc(m) for m in sorted(b.managed_images, key=lambda m: m.name)]
    accounts = [b.account_doc(a) for a in sorted(b.accounts, key=lambda a: a.name)]

    owned_names = Counter(r.owner_name for r in b.everything() if r.owner_name)
    owner = owned_names.most_common(1)[0][0] if owned_names else _owner_fallback(options.folder)
    adopt = any(not r.owned for r in b.everything())
    settings: dict[str, Any] = {"owner": owner}
    if adopt:
        settings["adopt"] = True

    # settings go once, in images.yaml, or in pools.yaml when there are no images.
    planned: list[tuple[str, dict[str, Any], str]] = []
    if galleries or images or not accounts:
        doc: dict[str, Any] = {"apiVersion": API_VERSION, "settings": settings}
        defaults, docs = _factor([*galleries, *images])
        if defaults:
            doc["defaults"] = defaults
        if galleries:
            doc["galleries"] = docs[: len(galleries)]
        if images:
            doc["managedImages"] = docs[len(galleries) :]
        planned.append(
            (IMAGES_FILE, doc, "galleries, image definitions, versions and managed images")
        )
    if accounts:
        doc = {"apiVersion": API_VERSION}
        if not planned:
            doc["settings"] = settings
        defaults, docs = _factor(accounts)
        if defaults:
            doc["defaults"] = defaults
        doc["batchAccounts"] = docs
        planned.append((POOLS_FILE, doc, "Batch accounts and their pools"))

    files: list[ExportedFile] = []
    anchors: dict[str, tuple[str, int, int]] = {}
    for name, doc, what in planned:
        text, lines = dump(doc, header=_header(options, what, owner, adopt))
        files.append(ExportedFile(name, text))
        for address, (line, col) in lines.items():
            anchors[address] = (name, line, col)

    diagnostics = []
    for address, code, message, hint in b.notes.found:
        diagnostics.append(diag(code, message, hint=hint, address=address, at=anchors.get(address)))
    counts = {
        "galleries": len(b.galleries),
        "image definitions": len(b.images),
        "image versions": len(b.versions),
        "managed images": len(b.managed_images),
        "Batch accounts": len(b.accounts),
        "pools": len(b.pools),
    }
    return Export(
        files=tuple(files),
        diagnostics=tuple(diagnostics),
        secrets=tuple(b.secrets),
        unexpressed=tuple(b.unexpressed),
        counts=counts,
        owner=owner,
        adopt=adopt,
        skipped_images=b.skipped_images,
    )


def _header(options: ExportOptions, what: str, owner: str, adopt: bool) -> list[str]:
    lines = [
        f"yaml-language-server: $schema={options.schema}",
        "",
        f"Exported by `reconcile export` from {options.where} at {options.when}.",
        f"Scope: {options.scope}.",
        f"This file holds the {what} found there.",
        "Replica counts and resizeTimeout are computed by reconcile: a value written here",
        "is a floor kept because Azure has more than the computed one (see the comments).",
    ]
    if adopt:
        lines.append(
            f"settings.adopt is on: plan/apply write reconcile's marks (owner {owner}) on "
            "what exists unowned, nothing else."
        )
    return lines
