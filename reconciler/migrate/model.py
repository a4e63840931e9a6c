"""The values a migration is made of: facts read about images and pools, options, moves.

All frozen: `build.plan_migration` turns facts and options into a `Migration`, and
`rewrite` only reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.diagnostics import Diagnostic

#: The default identifier template: unique per gallery as long as image names are.
DEFAULT_IDENTIFIER = "publisher={gallery},offer={image},sku={image}"
#: Drain used when a pool is scaled to zero for its image change (and declares none).
DEFAULT_DRAIN = "TaskCompletion"
DRAIN_CHOICES = ("TaskCompletion", "Requeue", "Terminate", "RetainedData")


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What a managed image is, as Azure reports it (`source` "live") or as the spec says.

    `encryption_set` is the customer-managed disk encryption set of its OS disk, if any
    (platform-key encryption, Azure's default, is not recorded: it does not matter).
    """

    os_type: Literal["Linux", "Windows"]
    os_state: str  # Generalized | Specialized
    hyper_v_generation: str  # V1 | V2
    architecture: str = "x64"
    encryption_set: str | None = None
    source: Literal["live", "spec"] = "spec"


@dataclass(frozen=True, slots=True)
class PoolFacts:
    """A pool as Azure reports it now: allocation state and current nodes."""

    allocation_state: str
    dedicated: int
    low_priority: int

    @property
    def nodes(self) -> int:
        """Current nodes, dedicated and spot."""
        return self.dedicated + self.low_priority


@dataclass(frozen=True, slots=True)
class MigrateOptions:
    """What the user asked for: gallery name and placement, identifier template, version."""

    gallery: str
    resource_group: str | None = None
    location: str | None = None
    identifier: str = DEFAULT_IDENTIFIER
    version: str = "1.0.0"
    drain: str | None = DEFAULT_DRAIN
    blue_green: bool = False  # pools with nodes get a `<pool>-gallery` copy; they stay


@dataclass(frozen=True, slots=True)
class PoolMove:
    """One pool pointed at the new version; `how` says how apply will move it.

    With `blue_green` (the new pool's name) the pool itself is left on the managed image
    and a copy of its declared configuration, under that name, boots the version.
    """

    address: str
    file: str
    account: str
    name: str
    how: str
    set_drain: str | None = None  # nodeDeallocationOption written into scale.fixed
    blue_green: str | None = None


@dataclass(frozen=True, slots=True)
class ImageMove:
    """One managed image published in a gallery, and the pools that move to it.

    `gallery_file` is where the gallery is (or, when `gallery_new`, will be) written;
    `gallery_placement` holds the keys a new gallery needs besides its name (those its
    file's `defaults` do not already give). `definition` is the YAML-ready mapping of
    the new image definition, its one version included.
    """

    managed_image: str  # address
    managed_image_file: str
    facts: ImageFacts
    gallery: str
    gallery_new: bool
    gallery_file: str
    gallery_placement: Mapping[str, str]
    definition: Mapping[str, Any]
    pools: tuple[PoolMove, ...]

    @property
    def definition_name(self) -> str:
        """The new image definition's name."""
        return str(self.definition["name"])


@dataclass(frozen=True, slots=True)
class Migration:
    """Everything `migrate` found to do (`moves`) and to say (`diagnostics`)."""

    moves: tuple[ImageMove, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default=())

    @property
    def has_errors(self) -> bool:
        """True when a diagnostic is an error: nothing may be written."""
        return any(d.is_error for d in self.diagnostics)
