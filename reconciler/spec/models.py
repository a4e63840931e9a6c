"""The spec's schema: pydantic v2 models of exactly what a user may write in YAML.

These models own *shape*: keys (camelCase, as Azure spells them), types, enums and
single-field bounds taken from Microsoft's API definitions. They are strict
(``"3"`` is not an int, ``1.0`` is not a version name) and forbid unknown keys.
Everything that spans fields or resources (defaults, references, sizing, Batch
rules) happens later, in `reconciler.spec.resolve` and `reconciler.spec.rules`,
on the frozen values of `reconciler.spec.resolved`.

Field names are the YAML keys on purpose: errors and the JSON Schema
(`schemas/spec.schema.json`, written by `reconcile schema`) then use the user's words.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Annotated, Any, Literal, Protocol, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError, SchemaValidator, core_schema

from reconciler.spec.resolved import VersionSourceKind
from reconciler.state.surface import MANAGED_IMAGE_SOURCES

API_VERSION = "reconcile/v1"

# --- patterns (Rust regex syntax, also valid for Python `re` / JSON Schema) ---------
_SEG = r"[^/]+"
_RG_PREFIX = rf"(?i)^/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/"
P_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
P_RESOURCE_GROUP = r"^[-\w.()]{0,89}[-\w()]$"
P_LOCATION = r"^[A-Za-z0-9][A-Za-z0-9 ]*$"
P_GALLERY = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"
P_DEFINITION = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9])?$"
P_VERSION = r"^[0-9]+\.[0-9]+\.[0-9]+$"
P_MANAGED_IMAGE = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$"
P_BATCH_ACCOUNT = r"^[a-z0-9]{3,24}$"
P_POOL = r"^[A-Za-z0-9_-]{1,64}$"
P_NAT_POOL = r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,75}[A-Za-z0-9_])?$"
P_DURATION = r"^P(?:[0-9]+D)?(?:T(?:[0-9]+H)?(?:[0-9]+M)?(?:[0-9]+(?:\.[0-9]+)?S)?)?$"
P_SNAPSHOT_ID = _RG_PREFIX + rf"Microsoft\.Compute/snapshots/{_SEG}$"
P_MANAGED_IMAGE_ID = _RG_PREFIX + rf"Microsoft\.Compute/images/{_SEG}$"
P_VERSION_ID = _RG_PREFIX + rf"Microsoft\.Compute/galleries/{_SEG}/images/{_SEG}/versions/{_SEG}$"
P_VM_ID = _RG_PREFIX + rf"Microsoft\.Compute/virtualMachines/{_SEG}$"
P_DISK_ID = _RG_PREFIX + rf"Microsoft\.Compute/disks/{_SEG}$"
P_STORAGE_ACCOUNT_ID = _RG_PREFIX + rf"Microsoft\.Storage/storageAccounts/{_SEG}$"
# A page blob in a storage account: https://{account}.blob.core.windows.net/{container}/{blob}
# (any cloud's blob endpoint suffix).
P_BLOB_URI = r"(?i)^https://[a-z0-9]{3,24}\.blob\.[a-z0-9.-]+/[a-z0-9$](?:[a-z0-9-]{1,62})/[^?#]+$"
# A community gallery image (`latest` of it) or one of its versions, as Azure names them.
P_COMMUNITY_IMAGE_ID = rf"(?i)^/CommunityGalleries/{_SEG}/Images/{_SEG}(?:/Versions/{_SEG})?$"
P_SUBNET_ID = _RG_PREFIX + rf"Microsoft\.Network/virtualNetworks/{_SEG}/subnets/{_SEG}$"
P_PUBLIC_IP_ID = _RG_PREFIX + rf"Microsoft\.Network/publicIPAddresses/{_SEG}$"
P_OWNER = r"^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$"
P_POOL_IMAGE_ID = (
    rf"(?i)^(?:/subscriptions/{_SEG}/resourceGroups/{_SEG}/providers/Microsoft\.Compute/"
    rf"(?:galleries/{_SEG}/images/{_SEG}/versions/{_SEG}|images/{_SEG})"
    # A gallery shared with the account's subscription or tenant, or a community gallery.
    rf"|/(?:SharedGalleries|CommunityGalleries)/{_SEG}/Images/{_SEG}/Versions/{_SEG})$"
)

#: What each pattern means, for error messages ("expected ...").
PATTERN_HELP: dict[str, str] = {
    P_UUID: "a subscription id (UUID, e.g. 00000000-0000-0000-0000-000000000001)",
    P_RESOURCE_GROUP: "a resource group name (1-90 letters, digits, . _ - ( ), not ending in '.')",
    P_LOCATION: "an Azure region name such as westeurope",
    P_GALLERY: "a gallery name (1-80 letters, digits, '_' or '.', not starting/ending with '.' or '-')",
    P_DEFINITION: "an image definition name (1-80 letters, digits, '_', '-', '.', starting and ending with a letter or digit)",
    P_VERSION: "a version name X.Y.Z (three integers, e.g. 1.0.0)",
    P_MANAGED_IMAGE: "a managed image name (1-80 letters, digits, '_', '-', '.', starting with a letter or digit)",
    P_BATCH_ACCOUNT: "a Batch account name (3-24 lower-case letters and digits)",
    P_POOL: "a pool name (1-64 letters, digits, '_' or '-')",
    P_NAT_POOL: "an endpoint name (up to 77 letters, digits, '_', '.', '-')",
    P_DURATION: "an ISO-8601 duration such as PT30M or PT1H",
    P_SNAPSHOT_ID: "a snapshot id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/snapshots/{name}",
    P_MANAGED_IMAGE_ID: "a managed image id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}",
    P_VERSION_ID: "a gallery image version id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{g}/images/{def}/versions/{ver}",
    P_VM_ID: "a virtual machine id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}",
    P_DISK_ID: "a managed disk id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/disks/{name}",
    P_STORAGE_ACCOUNT_ID: "a storage account id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}",
    P_BLOB_URI: "a blob URI: https://{account}.blob.core.windows.net/{container}/{blob}.vhd",
    P_COMMUNITY_IMAGE_ID: "a community gallery image id: /CommunityGalleries/{publicName}/Images/{def}, optionally /Versions/{ver}",
    P_SUBNET_ID: "a subnet id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}",
    P_PUBLIC_IP_ID: "a public IP id: /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/publicIPAddresses/{name}",
    P_POOL_IMAGE_ID: "a gallery image version id, a managed image id, or a shared or community "
    "gallery image version id (/SharedGalleries/{name}/Images/{def}/Versions/{ver})",
    P_OWNER: "an owner name (1-64 lower-case letters, digits, '.', '_' or '-', starting and ending with a letter or digit)",
}

INT32_MAX = 2**31 - 1

# P_RESOURCE_GROUP compiled by pydantic-core's (Rust) regex engine costs ≈80 ms — a
# Unicode class repeated up to 89 times — more than every other spec validator together,
# paid by each process on its first validation. It is checked as the two conditions it
# states instead: the same classes, unbounded (≈2 ms to compile, same engine), and at most
# 90 characters. A name failing either gets pydantic's own pattern error naming
# P_RESOURCE_GROUP, and the JSON Schema states P_RESOURCE_GROUP
# (`tests/spec/test_resource_group_pattern.py` holds the two checks equal).
_RESOURCE_GROUP_CHARS = r"^[-\w.()]*[-\w()]$"
_RESOURCE_GROUP_MAX = 90


@cache
def _resource_group_chars() -> SchemaValidator:
    return SchemaValidator(core_schema.str_schema(pattern=_RESOURCE_GROUP_CHARS))


def _resource_group_name(value: str) -> str:
    """`value` if it matches P_RESOURCE_GROUP, else pydantic's pattern error for it."""
    if len(value) > _RESOURCE_GROUP_MAX or not _resource_group_chars().isinstance_python(value):
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": P_RESOURCE_GROUP},
        )
    return value


Subscription = Annotated[str, Field(pattern=P_UUID, description="Subscription id (UUID).")]
ResourceGroup = Annotated[
    str,
    Field(description="Resource group name.", json_schema_extra={"pattern": P_RESOURCE_GROUP}),
    AfterValidator(_resource_group_name),
]
Location = Annotated[
    str, Field(pattern=P_LOCATION, description="Azure region, e.g. westeurope (case-insensitive).")
]
Duration = Annotated[str, Field(pattern=P_DURATION, description="ISO-8601 duration, e.g. PT30M.")]
Tags = Annotated[
    dict[str, Annotated[str, Field(max_length=256)]],
    Field(max_length=50, description="Azure resource tags (at most 50; values are strings)."),
]
AzureMembers = Annotated[
    dict[str, Any] | None,
    Field(
        description="Members under Azure's own names and nesting, as in an ARM template "
        "(checked against Microsoft's API definition; null or empty means ensure absent).",
    ),
]
StorageAccountType = Literal["Standard_LRS", "Standard_ZRS", "Premium_LRS", "PremiumV2_LRS"]


class SpecModel(BaseModel):
    """Base of every spec model: strict types, unknown keys forbidden, immutable."""

    # defer_build: a validator is compiled when a model is first used, so the few the
    # loader validates with compile their nested models once, and start-up does not pay
    # for one compiled copy per nested model (~30 ms).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


def _exactly_one(model: BaseModel, names: tuple[str, ...], what: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        got = ", ".join(given) if given else "none"
        raise ValueError(f"{what} needs exactly one of {', '.join(names)}; got {got}")


def _one_of_schema(*groups: tuple[str, ...]) -> dict[str, Any]:
    return {"oneOf": [{"required": list(g)} for g in groups]}


# --- top level ------------------------------------------------------------------


class Settings(SpecModel):
    """Knobs for the computed numbers; each may only make the rules stricter."""

    vmsPerReplica: int = Field(
        600,
        ge=1,
        le=600,
        description="VMs one gallery replica serves (R1: at most 600; lower means more replicas).",
    )
    minutesPer1000Nodes: int = Field(
        15,
        ge=15,
        le=1440,
        description="resizeTimeout minutes per 1000 nodes (R2: at least 15).",
    )
    prune: bool = Field(
        False, description="Delete owned resources that are no longer in the spec (plan/apply)."
    )
    adopt: bool = Field(
        False,
        description="Adopt declared resources that exist unowned: write only reconcile's "
        "ownership marks on them (plan/apply; --adopt for one run). Resources owned by "
        "another spec are never adopted.",
    )
    owner: str | None = Field(
        None,
        pattern=P_OWNER,
        description="The name this spec's resources are owned by (tag reconcile-owner, pool "
        "metadata reconcile.owner). Prune and 'would delete' consider only resources of this "
        "owner; resources of another owner are never touched. Unset: the name of the folder "
        "holding the spec files (printed by plan).",
    )


class Defaults(SpecModel):
    """Placement inherited by every resource in the same file that does not set its own."""

    subscription: Subscription | None = None
    resourceGroup: ResourceGroup | None = None
    location: Location | None = None


class Placement(SpecModel):
    """Where a top-level resource lives; unset fields come from `defaults`."""

    subscription: Subscription | None = None
    resourceGroup: ResourceGroup | None = None
    location: Location | None = None


# --- galleries ------------------------------------------------------------------


class ImageIdentifier(SpecModel):
    """Publisher/offer/sku of an image definition (unique per gallery)."""

    publisher: str = Field(min_length=1, max_length=128)
    offer: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=64)


class _HasLun(Protocol):
    lun: int


_Lunned = TypeVar("_Lunned", bound=_HasLun)


class DataDiskSnapshot(SpecModel):
    """A data disk snapshot and the LUN it is attached at."""

    lun: int = Field(ge=0, le=63)
    snapshot: str = Field(pattern=P_SNAPSHOT_ID)


def _unique_luns(disks: list[_Lunned]) -> list[_Lunned]:
    seen: set[int] = set()
    for d in disks:
        if d.lun in seen:
            raise ValueError(f"lun {d.lun} is used twice; each data disk needs its own lun")
        seen.add(d.lun)
    return disks


class SnapshotSource(SpecModel):
    """An image version built from disk snapshots (the most reliable way, R13)."""

    osDisk: str = Field(pattern=P_SNAPSHOT_ID, description="OS disk snapshot id.")
    dataDisks: list[DataDiskSnapshot] = Field(default_factory=list)

    _luns = field_validator("dataDisks")(_unique_luns)


class VhdDisk(SpecModel):
    """A VHD (page blob) the OS disk image is made from, and the storage account holding it."""

    uri: str = Field(pattern=P_BLOB_URI, description="The blob's URI.")
    storageAccountId: str = Field(
        pattern=P_STORAGE_ACCOUNT_ID, description="The storage account holding the blob."
    )


class VhdDataDisk(VhdDisk):
    """A data disk VHD and the LUN it is attached at."""

    lun: int = Field(ge=0, le=63)


class VhdSource(SpecModel):
    """An image version built from uploaded VHDs (R13: allowed; snapshots scale best)."""

    osDisk: VhdDisk
    dataDisks: list[VhdDataDisk] = Field(default_factory=list)

    _luns = field_validator("dataDisks")(_unique_luns)


_VERSION_SOURCES: tuple[str, ...] = get_args(VersionSourceKind)


class VersionSource(SpecModel):
    """What an image version is built from: exactly one of the six kinds."""

    model_config = ConfigDict(json_schema_extra=_one_of_schema(*((k,) for k in _VERSION_SOURCES)))

    managedImage: str | None = Field(None, pattern=P_MANAGED_IMAGE_ID)
    snapshots: SnapshotSource | None = None
    galleryImageVersion: str | None = Field(None, pattern=P_VERSION_ID)
    virtualMachine: str | None = Field(None, pattern=P_VM_ID)
    communityGalleryImage: str | None = Field(
        None,
        pattern=P_COMMUNITY_IMAGE_ID,
        description="A community gallery's image (its latest version) or image version.",
    )
    vhd: VhdSource | None = None

    @model_validator(mode="after")
    def _one(self) -> VersionSource:
        _exactly_one(self, _VERSION_SOURCES, "`source`")
        return self


class TargetRegion(SpecModel):
    """A region the version is replicated to; `replicas` is an optional floor (headroom)."""

    name: Location
    replicas: int | None = Field(
        None,
        ge=1,
        description="Minimum replicas wanted here; the computed value wins when larger.",
    )
    storageAccountType: StorageAccountType | None = None
    # The region's other members, under Azure's names (TargetRegion, GalleryRP 2026-03-03).
    encryption: AzureMembers = None
    excludeFromLatest: bool | None = None
    additionalReplicaSets: list[dict[str, Any]] | None = None


class ImageVersion(SpecModel):
    """A gallery image version: the bits pools boot from, replicated to target regions."""

    name: str = Field(pattern=P_VERSION, description="X.Y.Z, each part a 32-bit integer.")
    source: VersionSource
    targetRegions: list[TargetRegion] = Field(
        default_factory=list,
        description="Regions to replicate to; omitted means only the gallery's region.",
    )
    excludeFromLatest: bool = False
    endOfLifeDate: dt.date | None = Field(None, strict=False)
    tags: Tags = Field(default_factory=dict)
    properties: AzureMembers = None

    @field_validator("name")
    @classmethod
    def _int32_parts(cls, value: str) -> str:
        if any(int(part) > INT32_MAX for part in value.split(".")):
            raise ValueError(f"each part of a version name must be at most {INT32_MAX}")
        return value


class ImageDefinition(SpecModel):
    """A gallery image definition: the immutable description of an image family."""

    name: str = Field(pattern=P_DEFINITION)
    osType: Literal["Linux", "Windows"]
    osState: Literal["Generalized", "Specialized"]
    hyperVGeneration: Literal["V1", "V2"] | None = Field(
        None, description="Azure's default is V1 when omitted."
    )
    architecture: Literal["x64", "Arm64"] | None = Field(
        None, description="Azure's default is x64 when omitted."
    )
    identifier: ImageIdentifier
    description: str | None = None
    tags: Tags = Field(default_factory=dict)
    properties: AzureMembers = None
    versions: list[ImageVersion] = Field(default_factory=list)


class Gallery(Placement):
    """An Azure Compute Gallery with its image definitions."""

    name: str = Field(pattern=P_GALLERY)
    description: str | None = None
    tags: Tags = Field(default_factory=dict)
    properties: AzureMembers = None
    identity: AzureMembers = None
    images: list[ImageDefinition] = Field(default_factory=list)


# --- managed images ---------------------------------------------------------------


class DataDiskManagedDisk(SpecModel):
    """A managed data disk and the LUN it is attached at."""

    lun: int = Field(ge=0, le=63)
    managedDisk: str = Field(pattern=P_DISK_ID)


class DataDiskBlob(SpecModel):
    """A data disk VHD (page blob URI) and the LUN it is attached at."""

    lun: int = Field(ge=0, le=63)
    blobUri: str = Field(pattern=P_BLOB_URI)


class ManagedImageSource(SpecModel):
    """What a legacy managed image is built from: its OS disk from exactly one of a snapshot
    (R13: the most reliable), a managed disk or a VHD blob, each data disk from any of them;
    or a generalized VM, captured with its disks."""

    model_config = ConfigDict(
        json_schema_extra=_one_of_schema(*((k,) for k in MANAGED_IMAGE_SOURCES))
    )

    osDiskSnapshot: str | None = Field(None, pattern=P_SNAPSHOT_ID)
    dataDiskSnapshots: list[DataDiskSnapshot] = Field(default_factory=list)
    osDiskManagedDisk: str | None = Field(None, pattern=P_DISK_ID)
    dataDiskManagedDisks: list[DataDiskManagedDisk] = Field(default_factory=list)
    osDiskBlobUri: str | None = Field(None, pattern=P_BLOB_URI)
    dataDiskBlobUris: list[DataDiskBlob] = Field(default_factory=list)
    virtualMachine: str | None = Field(
        None, pattern=P_VM_ID, description="A generalized VM, captured with its disks."
    )

    _luns = field_validator("dataDiskSnapshots", "dataDiskManagedDisks", "dataDiskBlobUris")(
        _unique_luns
    )

    @model_validator(mode="after")
    def _one(self) -> ManagedImageSource:
        _exactly_one(self, tuple(MANAGED_IMAGE_SOURCES), "`source`")
        lists = [d for d in MANAGED_IMAGE_SOURCES.values() if d and getattr(self, d)]
        if self.virtualMachine is not None and lists:
            raise ValueError(
                f"`{lists[0]}` does not go with `virtualMachine`: a virtual machine brings "
                "its own data disks"
            )
        # Each data disk may come from a snapshot, a managed disk or a blob (Azure takes
        # any per disk), but a lun names one disk.
        seen: dict[int, str] = {}
        for name in lists:
            for disk in getattr(self, name):
                if disk.lun in seen and seen[disk.lun] != name:
                    raise ValueError(
                        f"lun {disk.lun} is in both `{seen[disk.lun]}` and `{name}`; each "
                        "data disk needs its own lun"
                    )
                seen[disk.lun] = name
        return self


class ManagedImage(Placement):
    """A legacy managed image (Microsoft.Compute/images) built from snapshots, managed
    disks, VHD blobs or a generalized VM."""

    name: str = Field(pattern=P_MANAGED_IMAGE)
    osType: Literal["Linux", "Windows"]
    hyperVGeneration: Literal["V1", "V2"] | None = None
    source: ManagedImageSource
    tags: Tags = Field(default_factory=dict)
    properties: AzureMembers = None
    extendedLocation: AzureMembers = None


# --- Batch ----------------------------------------------------------------------


class PoolImage(SpecModel):
    """Which image a pool boots from: a gallery version, a managed image, a raw id, or a
    Marketplace image.

    ``{gallery, definition, version}`` refers to the spec (``version`` defaults to
    ``latest``: the highest declared version not excluded from latest, pinned);
    ``{managedImage: name}`` to a managed image in the spec; ``{id}`` to any image;
    ``{publisher, offer, sku, version}`` to an Azure Marketplace image (``version``
    defaults to ``latest``, which Batch resolves when it allocates nodes, as Azure does).
    """

    model_config = ConfigDict(
        json_schema_extra=_one_of_schema(
            ("gallery", "definition"), ("managedImage",), ("id",), ("publisher", "offer", "sku")
        )
    )

    gallery: str | None = Field(None, pattern=P_GALLERY)
    definition: str | None = Field(None, pattern=P_DEFINITION)
    version: str | None = Field(None, description="X.Y.Z or `latest` (the default).")
    managedImage: str | None = Field(None, pattern=P_MANAGED_IMAGE)
    id: str | None = Field(None, pattern=P_POOL_IMAGE_ID)
    publisher: str | None = Field(
        None, min_length=1, description="Marketplace image publisher, e.g. `canonical`."
    )
    offer: str | None = Field(
        None, min_length=1, description="Marketplace image offer, e.g. `ubuntu-24_04-lts`."
    )
    sku: str | None = Field(None, min_length=1, description="Marketplace image SKU, e.g. `server`.")

    @property
    def is_marketplace(self) -> bool:
        """True when the image is named by Marketplace publisher/offer/sku."""
        return any(v is not None for v in (self.publisher, self.offer, self.sku))

    @model_validator(mode="after")
    def _one(self) -> PoolImage:
        gallery_ref = self.gallery is not None or self.definition is not None
        marketplace = self.is_marketplace
        kinds = [
            name
            for name, given in (
                ("gallery/definition", gallery_ref),
                ("managedImage", self.managedImage is not None),
                ("id", self.id is not None),
                ("publisher/offer/sku", marketplace),
            )
            if given
        ]
        if len(kinds) != 1:
            got = ", ".join(kinds) if kinds else "none"
            raise ValueError(
                "`image` needs exactly one of gallery+definition, managedImage, id, "
                f"publisher+offer+sku; got {got}"
            )
        if gallery_ref and (self.gallery is None or self.definition is None):
            raise ValueError("`image` refers to a gallery image: give both gallery and definition")
        if marketplace:
            missing = [n for n in ("publisher", "offer", "sku") if getattr(self, n) is None]
            if missing:
                raise ValueError(
                    "`image` refers to a Marketplace image: give publisher, offer and sku "
                    f"(missing: {', '.join(missing)})"
                )
        if self.version is not None and not (gallery_ref or marketplace):
            raise ValueError(
                "`version` only applies to a gallery image (gallery + definition) "
                "or a Marketplace image (publisher + offer + sku)"
            )
        if self.version not in (None, "latest") and not re.fullmatch(P_VERSION, self.version):
            raise ValueError(f"version {self.version!r} is neither `latest` nor X.Y.Z (e.g. 1.0.0)")
        return self


class FixedScale(SpecModel):
    """A fixed number of nodes; `resizeTimeout` is computed when omitted (R2/R3)."""

    dedicated: int = Field(0, ge=0, le=INT32_MAX)
    lowPriority: int = Field(0, ge=0, le=INT32_MAX, description="Spot/low-priority nodes.")
    resizeTimeout: Duration | None = Field(
        None, description="At least the computed value; omitted means computed."
    )
    nodeDeallocationOption: (
        Literal["Requeue", "Terminate", "TaskCompletion", "RetainedData"] | None
    ) = None


class AutoScale(SpecModel):
    """Autoscale formula; `maxNodes` is the most nodes the formula can ask for (sizing)."""

    formula: str = Field(min_length=1)
    evaluationInterval: Duration | None = Field(None, description="5 minutes to 168 hours.")
    maxNodes: int = Field(
        ge=0, le=INT32_MAX, description="Upper bound of the formula, used to size replicas."
    )
    resizeTimeout: Duration | None = Field(
        None, description="Ignored by Batch for autoscale pools (warning RC105)."
    )


class Scale(SpecModel):
    """Exactly one of `fixed` or `autoScale`."""

    model_config = ConfigDict(json_schema_extra=_one_of_schema(("fixed",), ("autoScale",)))

    fixed: FixedScale | None = None
    autoScale: AutoScale | None = None

    @model_validator(mode="after")
    def _one(self) -> Scale:
        _exactly_one(self, ("fixed", "autoScale"), "`scale`")
        return self


class UserIdentity(SpecModel):
    """The auto user the start task runs as: its scope and elevation.

    There is no ``userName``: a named user must be one of the pool's user accounts,
    which the spec does not declare, so the pool could never honour it.
    """

    elevationLevel: Literal["NonAdmin", "Admin"] | None = None
    scope: Literal["Task", "Pool"] | None = None


class StartTask(SpecModel):
    """Runs on every node as it joins; `${env:NAME}` references keep secrets out of git."""

    commandLine: str = Field(min_length=1)
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Environment variables; use ${env:NAME} for secrets (resolved at apply).",
    )
    waitForSuccess: bool | None = None
    maxTaskRetryCount: int | None = Field(None, ge=-1, le=INT32_MAX)
    userIdentity: UserIdentity | None = None


class InboundNatPool(SpecModel):
    """Inbound NAT pool: addresses one port on each node from a range of public ports."""

    name: str = Field(pattern=P_NAT_POOL)
    protocol: Literal["TCP", "UDP"]
    backendPort: int = Field(ge=1, le=65535)
    frontendPortRangeStart: int = Field(ge=1, le=65534)
    frontendPortRangeEnd: int = Field(ge=1, le=65534)


class Network(SpecModel):
    """Subnet, public IP provisioning and inbound NAT pools of a pool."""

    subnetId: str | None = Field(None, pattern=P_SUBNET_ID)
    publicIPAddressProvisioningType: (
        Literal["BatchManaged", "UserManaged", "NoPublicIPAddresses"] | None
    ) = None
    publicIPs: list[Annotated[str, Field(pattern=P_PUBLIC_IP_ID)]] = Field(default_factory=list)
    inboundNatPools: list[InboundNatPool] = Field(default_factory=list)


class Pool(SpecModel):
    """A Batch pool (virtual machine configuration) on a custom or Marketplace image."""

    name: str = Field(pattern=P_POOL)
    displayName: str | None = Field(None, max_length=1024)
    vmSize: str = Field(min_length=1)
    image: PoolImage
    nodeAgentSkuId: str = Field(
        min_length=1, description="Must match the image OS, e.g. `batch.node.ubuntu 22.04`."
    )
    scale: Scale
    startTask: StartTask | None = None
    taskSlotsPerNode: int | None = Field(None, ge=1, le=256)
    network: Network | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    interNodeCommunication: Literal["Enabled", "Disabled"] | None = None
    tags: Tags = Field(default_factory=dict)
    identity: AzureMembers = None
    properties: AzureMembers = None


class BatchAccount(Placement):
    """An existing Batch account (never created by the tool) and the pools it should hold."""

    name: str = Field(pattern=P_BATCH_ACCOUNT)
    pools: list[Pool] = Field(default_factory=list)


# --- a file -----------------------------------------------------------------------


class SpecDocument(SpecModel):
    """One spec file. Several files (or a directory of them) merge into one spec."""

    model_config = ConfigDict(
        title="reconcile spec",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    apiVersion: Literal["reconcile/v1"]
    settings: Settings | None = None
    defaults: Defaults | None = None
    galleries: list[Gallery] = Field(default_factory=list)
    managedImages: list[ManagedImage] = Field(default_factory=list)
    batchAccounts: list[BatchAccount] = Field(default_factory=list)


class SpecHeader(SpecModel):
    """`SpecDocument` with its resource lists left unvalidated.

    The loader validates the header and then each top-level resource on its own, so
    one broken gallery does not hide the problems (or the pools) of the others.
    """

    apiVersion: Literal["reconcile/v1"]
    settings: Settings | None = None
    defaults: Defaults | None = None
    galleries: list[Any] = Field(default_factory=list)
    managedImages: list[Any] = Field(default_factory=list)
    batchAccounts: list[Any] = Field(default_factory=list)


#: The model of each item of each top-level list.
SECTIONS: dict[str, type[SpecModel]] = {
    "galleries": Gallery,
    "managedImages": ManagedImage,
    "batchAccounts": BatchAccount,
}
