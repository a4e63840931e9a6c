"""A small valid spec as a dict, and helpers to write specs to disk and load them."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reconciler.spec import LoadResult, load_spec

SUB = "00000000-0000-0000-0000-000000000001"
SUB2 = "00000000-0000-0000-0000-000000000002"
TODAY = dt.date(2026, 11, 24)


def rid(kind: str, name: str, *, sub: str = SUB, rg: str = "rg-images") -> str:
    """A Microsoft.Compute resource id of `kind` (snapshots, images, virtualMachines)."""
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/{kind}/{name}"


def snap(name: str) -> str:
    """A snapshot id in rg-images."""
    return rid("snapshots", name)


BASE: dict[str, Any] = {
    "apiVersion": "reconcile/v1",
    "defaults": {"subscription": SUB, "resourceGroup": "rg-images", "location": "westeurope"},
    "galleries": [
        {
            "name": "g",
            "images": [
                {
                    "name": "lin",
                    "osType": "Linux",
                    "osState": "Generalized",
                    "hyperVGeneration": "V2",
                    "identifier": {"publisher": "contoso", "offer": "render", "sku": "ubuntu"},
                    "versions": [
                        {
                            "name": "1.0.0",
                            "source": {"snapshots": {"osDisk": snap("snap-os")}},
                            "targetRegions": [{"name": "westeurope"}],
                        }
                    ],
                }
            ],
        }
    ],
    "batchAccounts": [
        {
            "name": "acct",
            "resourceGroup": "rg-batch",
            "pools": [
                {
                    "name": "p1",
                    "vmSize": "Standard_D2s_v5",
                    "image": {"gallery": "g", "definition": "lin"},
                    "nodeAgentSkuId": "batch.node.ubuntu 22.04",
                    "scale": {"fixed": {"dedicated": 10}},
                }
            ],
        }
    ],
}


def world(mutate: Callable[[dict[str, Any]], object] | None = None) -> dict[str, Any]:
    """A deep copy of BASE, changed in place by `mutate` when given."""
    data = copy.deepcopy(BASE)
    if mutate is not None:
        mutate(data)
    return data


def write(tmp: Path, data: dict[str, Any] | str, name: str = "spec.yaml") -> Path:
    """Write a dict (as YAML) or literal YAML text to `tmp/name`."""
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp: Path, data: dict[str, Any] | str, **kw: Any) -> LoadResult:
    """Write one spec file and load it (today fixed to TODAY)."""
    return load_spec([write(tmp, data)], today=kw.pop("today", TODAY), **kw)


def codes(result: LoadResult) -> list[str]:
    """The diagnostic codes of a result, in order."""
    return [d.code for d in result.diagnostics]


# Handy accessors for mutations.
def gallery(d: dict[str, Any]) -> dict[str, Any]:
    """The first gallery."""
    return d["galleries"][0]


def image(d: dict[str, Any]) -> dict[str, Any]:
    """The first image definition."""
    return d["galleries"][0]["images"][0]


def version(d: dict[str, Any]) -> dict[str, Any]:
    """The first image version."""
    return image(d)["versions"][0]


def account(d: dict[str, Any]) -> dict[str, Any]:
    """The first Batch account."""
    return d["batchAccounts"][0]


def pool(d: dict[str, Any]) -> dict[str, Any]:
    """The first pool."""
    return account(d)["pools"][0]
