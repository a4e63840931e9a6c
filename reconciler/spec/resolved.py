"""The resolved spec: the pure, frozen view the planner consumes.

`load_spec` turns YAML files into a `ResolvedSpec`. Everything here is a value:
frozen dataclasses, tuples, read-only mappings. Defaults are applied, references
resolved to Azure resource ids, `version: latest` pinned, sizing computed. Nothing
here talks to Azure or reads the environment.

Every resource value carries:

- ``address``  the stable name used in messages and plans (see `reconciler.spec.ids`);
- ``id``       its Azure resource id, spelled as Azure does (compare with `normalize_id`);
- ``subscription``, ``resource_group``, ``location`` (location normalised: ``westeurope``);
- ``declared_at`` where it was written (`SourceLocation`: file, line, col);
- its declared fields, in snake_case, with Azure's defaults *not* filled in
  (``None`` means "not declared: not managed"). The spec's own defaults are applied:
  placement from `defaults:`, `exclude_from_latest` False, target regions = the
  gallery's region when none are listed, `dedicated`/`low_priority` 0, and the
  computed replicas / resizeTimeout where none (or a smaller one) is declared.

Navigation (all keyed by address, in declaration order):
``spec.galleries``, ``spec.images``, ``spec.versions``, ``spec.managed_images``,
``spec.batch_accounts``, ``spec.pools``; ``spec.get(address)``;
``spec.pools_using(address)``; ``spec.resources()`` (parents before children).

Secrets: string fields that may hold ``${env:NAME}`` references (the start task's
command line and environment values) keep the reference text; no secret value is
ever held here. `reconciler.spec.secrets.resolve_secrets` produces the values at
apply time, wrapped so they print as ``***``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from types import MappingProxyType
from typing import Any, Literal

from reconciler.diagnostics import SourceLocation
from reconciler.spec.azure_members import AzureMembers
from reconciler.spec.secrets import mask_environment, mask_text, references
from reconciler.spec.sizing import ReplicaSizing, ResizeTimeoutSizing

_EMPTY: Mapping[str, str] = MappingProxyType({})


def frozen_map(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A read-only copy (shared empty mapping for None/empty)."""
    if not mapping:
        return _EMPTY
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class Settings:
    """`settings:` merged over all files (defaults: 600, 15, no prune, no adopt).

    `owner` is ``settings.owner``, or derived from the folder holding the spec files
    (`owner_derived` then says so); empty only for specs built without files.
    """

    vms_per_replica: int = 600
    minutes_per_1000_nodes: int = 15
    prune: bool = False
    adopt: bool = False
    owner: str = ""
    owner_derived: bool = False


# --- galleries --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedGallery:
    """A gallery. `images` lists the addresses of its definitions."""

    address: str
    name: str
    id: str
    subscription: str
    resource_group: str
    location: str
    description: str | None
    tags: Mapping[str, str]
    images: tuple[str, ...]
    declared_at: SourceLocation
    # Members written under Azure's own names (`reconciler.spec.azure_members`).
    azure: AzureMembers = field(default_factory=AzureMembers)


@dataclass(frozen=True, slots=True)
class ImageIdentifier:
    """publisher/offer/sku of a definition."""

    publisher: str
    offer: str
    sku: str


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """A gallery image definition (lives in its gallery's subscription/rg/location).

    `os_type`, `os_state`, `hyper_v_generation`, `architecture`, `identifier` cannot be
    changed in Azure: a change means a new definition. `hyper_v_generation` and
    `architecture` are None when not declared (Azure then uses V1 / x64).
    `versions` lists version addresses in declaration order; `latest` is the address
    `version: latest` resolves to (None when every version is excluded or none exist).
    """

    address: str
    name: str
    gallery: str
    gallery_address: str
    id: str
    subscription: str
    resource_group: str
    location: str
    os_type: Literal["Linux", "Windows"]
    os_state: Literal["Generalized", "Specialized"]
    hyper_v_generation: Literal["V1", "V2"] | None
    architecture: Literal["x64", "Arm64"] | None
    identifier: ImageIdentifier
    description: str | None
    tags: Mapping[str, str]
    versions: tuple[str, ...]
    latest: str | None
    declared_at: SourceLocation
    # Members written under Azure's own names (`reconciler.spec.azure_members`).
    azure: AzureMembers = field(default_factory=AzureMembers)


@dataclass(frozen=True, slots=True)
class DataDisk:
    """A data disk snapshot at a LUN."""

    lun: int
    snapshot_id: str


@dataclass(frozen=True, slots=True)
class VhdDisk:
    """A VHD blob a disk image is made from; `lun` is None for the OS disk."""

    uri: str
    storage_account_id: str
    lun: int | None = None


#: What a version can be built from, as the spec's `source` keys name them.
VersionSourceKind = Literal[
    "managedImage",
    "snapshots",
    "galleryImageVersion",
    "virtualMachine",
    "communityGalleryImage",
    "vhd",
]


@dataclass(frozen=True, slots=True)
class VersionSource:
    """What a version is built from, of the `kind` the spec's `source` key names.

    ``snapshots`` → `os_disk_snapshot_id` and `data_disks`; ``vhd`` → `vhd_os_disk` and
    `vhd_data_disks`; every other kind is named by one id, `id` (Azure's
    ``storageProfile.source``), which is None for snapshots and VHDs, which name each disk.
    `depends_on` is the address of the source when the spec declares it too
    (a managed image or another version), so the planner can order creation.
    """

    kind: VersionSourceKind
    id: str | None = None
    os_disk_snapshot_id: str | None = None
    data_disks: tuple[DataDisk, ...] = ()
    vhd_os_disk: VhdDisk | None = None
    vhd_data_disks: tuple[VhdDisk, ...] = ()
    depends_on: str | None = None

    @property
    def data_luns(self) -> frozenset[int] | None:
        """The data disks' luns when the spec names each disk (snapshots, VHDs), else None."""
        if self.kind == "snapshots":
            return frozenset(d.lun for d in self.data_disks)
        if self.kind == "vhd":
            return frozenset(d.lun for d in self.vhd_data_disks if d.lun is not None)
        return None


@dataclass(frozen=True, slots=True)
class ResolvedTargetRegion:
    """One target region of a version: declared floor, computed sizing, final replicas."""

    name: str  # normalised region
    replicas: int  # final value = sizing.final
    declared_replicas: int | None
    storage_account_type: str | None
    sizing: ReplicaSizing
    declared_at: SourceLocation


@dataclass(frozen=True, slots=True)
class ResolvedVersion:
    """A gallery image version with its computed replicas per region.

    `location` is the gallery's region (where the version resource lives); it is
    always among `target_regions`. `target_regions` is keyed by normalised region
    name; each entry's `sizing` shows which pools contribute how many nodes.
    `version_tuple` orders versions numerically. `used_by` lists pool addresses
    booting this version (directly or through `latest`).
    """

    address: str
    name: str
    gallery: str
    definition: str
    image_address: str
    id: str
    subscription: str
    resource_group: str
    location: str
    source: VersionSource
    target_regions: Mapping[str, ResolvedTargetRegion]
    exclude_from_latest: bool
    end_of_life_date: dt.date | None
    tags: Mapping[str, str]
    version_tuple: tuple[int, int, int]
    used_by: tuple[str, ...]
    declared_at: SourceLocation
    # Members written under Azure's own names (`reconciler.spec.azure_members`).
    azure: AzureMembers = field(default_factory=AzureMembers)

    @property
    def replicas(self) -> Mapping[str, int]:
        """Final replicas per region."""
        return MappingProxyType({k: v.replicas for k, v in self.target_regions.items()})


# --- managed images ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageDataDisk:
    """A managed image's data disk: its lun, the spec list naming it (`dataDiskSnapshots`,
    `dataDiskManagedDisks` or `dataDiskBlobUris`) and the snapshot id, disk id or blob URI."""

    lun: int
    list: str
    ref: str


@dataclass(frozen=True, slots=True)
class ManagedImageSource:
    """What a managed image is built from: `kind` is the spec's OS disk key.

    ``osDiskSnapshot`` / ``osDiskManagedDisk`` / ``osDiskBlobUri``: `os_disk` is the
    snapshot id, managed disk id or blob URI, `data_disks` the data disks, each of any of
    the three kinds; ``virtualMachine``: `os_disk` is the VM's id and there are no data
    disks (Azure captures the VM's own).
    """

    kind: Literal["osDiskSnapshot", "osDiskManagedDisk", "osDiskBlobUri", "virtualMachine"]
    os_disk: str
    data_disks: tuple[ImageDataDisk, ...] = ()


@dataclass(frozen=True, slots=True)
class ResolvedManagedImage:
    """A legacy managed image and what it is built from; `used_by` lists pool addresses."""

    address: str
    name: str
    id: str
    subscription: str
    resource_group: str
    location: str
    os_type: Literal["Linux", "Windows"]
    hyper_v_generation: Literal["V1", "V2"] | None
    source: ManagedImageSource
    tags: Mapping[str, str]
    used_by: tuple[str, ...]
    declared_at: SourceLocation
    # Members written under Azure's own names (`reconciler.spec.azure_members`).
    azure: AzureMembers = field(default_factory=AzureMembers)

    @property
    def os_disk_snapshot_id(self) -> str | None:
        """The OS disk's snapshot, when the image is built from snapshots."""
        return self.source.os_disk if self.source.kind == "osDiskSnapshot" else None

    @property
    def data_disks(self) -> tuple[DataDisk, ...]:
        """The data disks built from snapshots."""
        return tuple(
            DataDisk(d.lun, d.ref) for d in self.source.data_disks if d.list == "dataDiskSnapshots"
        )


# --- Batch ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedBatchAccount:
    """An existing Batch account (never created); `pools` lists pool addresses."""

    address: str
    name: str
    id: str
    subscription: str
    resource_group: str
    location: str
    pools: tuple[str, ...]
    declared_at: SourceLocation


@dataclass(frozen=True, slots=True)
class MarketplaceImage:
    """An Azure Marketplace image: publisher, offer, sku and version (``latest`` unless
    pinned; Batch picks the newest version when it allocates nodes)."""

    publisher: str
    offer: str
    sku: str
    version: str = "latest"


@dataclass(frozen=True, slots=True)
class PoolImageRef:
    """The image a pool boots from, as declared and as resolved.

    `kind`: ``gallery`` (a spec version, via gallery/definition/version),
    ``managedImage`` (a spec managed image), ``id`` (a raw id; if it names a spec
    resource, `address` is filled in), ``marketplace`` (an Azure Marketplace image,
    `marketplace`; no id, no address: the custom-image rules do not apply to it).
    `id` is the resource id the pool is created with (for ``version: latest`` the pinned
    concrete version, never "latest"; empty for a Marketplace image).
    `image_kind` says what `id` points at: ``galleryImageVersion`` or ``managedImage``
    (``marketplace`` when there is no id).
    `declared_version` is what the user wrote (``latest`` or X.Y.Z) for gallery refs;
    `pinned_from_latest` is True when `latest` was resolved here.
    `address` is the spec address of the version/managed image, or None when unresolved.
    """

    kind: Literal["gallery", "managedImage", "id", "marketplace"]
    image_kind: Literal["galleryImageVersion", "managedImage", "marketplace"]
    id: str
    address: str | None
    gallery: str | None = None
    definition: str | None = None
    declared_version: str | None = None
    pinned_from_latest: bool = False
    managed_image: str | None = None
    marketplace: MarketplaceImage | None = None

    @property
    def is_managed_image(self) -> bool:
        """True for legacy managed-image pools (R7)."""
        return self.image_kind == "managedImage"

    @property
    def is_marketplace(self) -> bool:
        """True for pools on an Azure Marketplace image (no custom-image rules apply)."""
        return self.marketplace is not None


@dataclass(frozen=True, slots=True)
class FixedScale:
    """Fixed target node counts; `resize_timeout` is the final (sized) duration."""

    dedicated: int
    low_priority: int
    resize_timeout: str
    declared_resize_timeout: str | None
    node_deallocation_option: str | None


@dataclass(frozen=True, slots=True)
class AutoScale:
    """Autoscale formula; `max_nodes` is its declared upper bound (used for sizing)."""

    formula: str
    evaluation_interval: str | None
    max_nodes: int


@dataclass(frozen=True, slots=True, repr=False)
class StartTask:
    """Start task. `command_line` and `environment` values keep ``${env:NAME}`` text.

    Its repr (and `to_jsonable`) masks values holding references and literal values
    of secret-looking variables as ``***``; read the fields for the real text.
    """

    command_line: str
    environment: Mapping[str, str]
    wait_for_success: bool | None
    max_task_retry_count: int | None
    elevation_level: str | None
    scope: str | None

    @property
    def secret_refs(self) -> tuple[str, ...]:
        """Environment variable names referenced by ``${env:NAME}`` (apply needs them)."""
        names = list(references(self.command_line))
        for value in self.environment.values():
            names.extend(references(value))
        return tuple(dict.fromkeys(names))

    def masked(self) -> dict[str, Any]:
        """Command line and environment as they may be shown (see class doc)."""
        return {
            "command_line": mask_text(self.command_line),
            "environment": mask_environment(self.environment),
        }

    def __repr__(self) -> str:
        shown = self.masked()
        return (
            f"StartTask(command_line={shown['command_line']!r}, "
            f"environment={shown['environment']!r}, wait_for_success={self.wait_for_success!r}, "
            f"max_task_retry_count={self.max_task_retry_count!r}, "
            f"elevation_level={self.elevation_level!r}, scope={self.scope!r})"
        )


@dataclass(frozen=True, slots=True)
class InboundNatPool:
    """An inbound NAT pool of a pool's endpoint configuration."""

    name: str
    protocol: str
    backend_port: int
    frontend_port_range_start: int
    frontend_port_range_end: int


@dataclass(frozen=True, slots=True)
class Network:
    """Network configuration of a pool (None fields: not declared)."""

    subnet_id: str | None
    public_ip_address_provisioning_type: str | None
    public_ips: tuple[str, ...]
    inbound_nat_pools: tuple[InboundNatPool, ...]


@dataclass(frozen=True, slots=True)
class ResolvedPool:
    """A Batch pool with its image resolved and its resizeTimeout sized.

    Lives in its account's subscription/resource group/location. `target_nodes` is
    what the pool contributes to replica sizing (dedicated + low-priority, or
    autoscale `max_nodes`). `resize_timeout` is the sizing record for fixed pools
    (None for autoscale); its `final` equals `scale.resize_timeout`.
    """

    address: str
    name: str
    account: str
    account_address: str
    account_id: str
    id: str
    subscription: str
    resource_group: str
    location: str
    display_name: str | None
    vm_size: str
    image: PoolImageRef
    node_agent_sku_id: str
    scale: FixedScale | AutoScale
    resize_timeout: ResizeTimeoutSizing | None
    start_task: StartTask | None
    task_slots_per_node: int | None
    network: Network | None
    metadata: Mapping[str, str]
    inter_node_communication: str | None
    target_nodes: int
    declared_at: SourceLocation
    # Members written under Azure's own names (`reconciler.spec.azure_members`).
    azure: AzureMembers = field(default_factory=AzureMembers)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_autoscale(self) -> bool:
        """True for autoscale pools."""
        return isinstance(self.scale, AutoScale)


Resource = (
    ResolvedGallery
    | ResolvedImage
    | ResolvedVersion
    | ResolvedManagedImage
    | ResolvedBatchAccount
    | ResolvedPool
)


@dataclass(frozen=True, slots=True)
class ResolvedSpec:
    """All files merged and resolved. Mappings are keyed by address, in declaration order.

    `files` are the files read (as given); `digest` is a SHA-256 over their contents
    (a saved plan records it to detect a changed spec).
    """

    settings: Settings
    galleries: Mapping[str, ResolvedGallery]
    images: Mapping[str, ResolvedImage]
    versions: Mapping[str, ResolvedVersion]
    managed_images: Mapping[str, ResolvedManagedImage]
    batch_accounts: Mapping[str, ResolvedBatchAccount]
    pools: Mapping[str, ResolvedPool]
    files: tuple[str, ...] = ()
    digest: str = ""
    _by_address: Mapping[str, Resource] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged: dict[str, Resource] = {}
        for group in (
            self.galleries,
            self.images,
            self.versions,
            self.managed_images,
            self.batch_accounts,
            self.pools,
        ):
            merged.update(group)
        object.__setattr__(self, "_by_address", MappingProxyType(merged))

    def get(self, address: str) -> Resource | None:
        """The resource at `address`, or None."""
        return self._by_address.get(address)

    def resources(self) -> Iterator[Resource]:
        """Every resource, parents before children (galleries, images, versions,
        managed images, accounts, pools)."""
        return iter(self._by_address.values())

    def pools_using(self, address: str) -> tuple[ResolvedPool, ...]:
        """Pools whose image resolves to the version or managed image at `address`."""
        return tuple(p for p in self.pools.values() if p.image.address == address)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (secret-looking literals masked; see `to_jsonable`)."""
        return to_jsonable(self)


def to_jsonable(value: Any) -> Any:
    """Dataclasses → dicts (field names as in Python), mappings → dicts, tuples →
    lists, dates → ISO strings. Start-task values holding ``${env:...}`` references
    and literal values of secret-looking variables are masked as ``***``."""
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in fields(value):
            if f.name.startswith("_"):
                continue
            item = getattr(value, f.name)
            if isinstance(value, StartTask) and f.name in ("environment", "command_line"):
                item = value.masked()[f.name]
            out[f.name] = to_jsonable(item)
        for extra in ("explanation", "final", "arithmetic"):
            if isinstance(value, ReplicaSizing | ResizeTimeoutSizing) and extra not in out:
                out[extra] = getattr(value, extra)
        return out
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
