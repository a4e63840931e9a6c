"""Generate `reconciler/openapi/specs/` from Microsoft's swagger files: structure only.

    python -m reconciler.openapi.generate [--from DIR] [--check]

Reads every swagger file (not the examples) under the upstream folder, drops what is prose
(descriptions, summaries, titles, inline examples, external docs, the excerpt notes) and
writes what remains, key order kept, under the same relative path. ``x-ms-examples`` keeps
only the reference to each example file, keyed by the file's stem instead of its title.
``--check`` writes nothing and exits 1 when a committed file differs from what the
upstream folder generates (or is missing, or is extra).

Keys are dropped only where they are schema or operation keywords: inside a map whose keys
are names (``properties``, ``definitions``, ``paths``, ``parameters`` at the top, ``responses``,
``headers``) a member called ``description`` is a name and stays.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from reconciler.openapi import SPECS_DIR, upstream_dir

#: Keywords whose values are prose for people, never structure.
PROSE_KEYS = frozenset(
    {"description", "summary", "title", "externalDocs", "example", "examples", "x-ms-excerpt-note"}
)
#: Keys whose value maps names (not keywords) to nodes.
NAME_MAPS = frozenset(
    {
        "properties",
        "definitions",
        "paths",
        "x-ms-paths",
        "responses",
        "headers",
        "securityDefinitions",
    }
)


def _strip(node: Any, *, names: bool = False) -> Any:
    """`node` without prose; `names` says its keys are names, not keywords."""
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if names:
            out[key] = _strip(value)
        elif key in PROSE_KEYS:
            continue
        elif key == "x-ms-examples":
            out[key] = _example_refs(value)
        elif key == "scopes" and isinstance(value, dict):
            out[key] = dict.fromkeys(value, "")  # OAuth scope names; their values are prose
        elif key in NAME_MAPS:
            out[key] = _strip(value, names=True)
        else:
            out[key] = _strip(value)
    return out


def _example_refs(examples: Any) -> dict[str, Any]:
    """``x-ms-examples`` as ``{file stem: {"$ref": path}}`` (the titles are prose)."""
    refs: dict[str, Any] = {}
    for entry in (examples or {}).values():
        ref = entry.get("$ref") if isinstance(entry, dict) else None
        if isinstance(ref, str):
            refs[Path(ref).stem] = {"$ref": ref}
    return refs


def structure(doc: dict[str, Any]) -> dict[str, Any]:
    """One swagger document reduced to its structure."""
    out = _strip(doc)
    info = doc.get("info")
    if isinstance(info, dict):
        out["info"] = {"version": info.get("version")}
    if isinstance(doc.get("tags"), list):
        out["tags"] = [{"name": t.get("name")} for t in doc["tags"] if isinstance(t, dict)]
    top_parameters = doc.get("parameters")
    if isinstance(top_parameters, dict):
        out["parameters"] = _strip(top_parameters, names=True)
    return out


def swagger_files(root: Path) -> Iterator[Path]:
    """The swagger files under `root` (examples excluded), in a stable order."""
    for path in sorted(root.rglob("*.json")):
        if "examples" not in path.relative_to(root).parts:
            yield path


def render(doc: dict[str, Any]) -> str:
    """The committed text of a generated file (stable, one member per line)."""
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def generate(source: Path) -> dict[str, str]:
    """Relative path -> generated text, for every swagger file under `source`."""
    result: dict[str, str] = {}
    for path in swagger_files(source):
        doc = json.loads(path.read_text(encoding="utf-8"))
        result[path.relative_to(source).as_posix()] = render(structure(doc))
    return result


def differences(generated: dict[str, str], target: Path = SPECS_DIR) -> list[str]:
    """What differs between `generated` and the files under `target`, one line each."""
    present = {p.relative_to(target).as_posix() for p in target.rglob("*.json")}
    problems = [f"missing: {rel}" for rel in sorted(set(generated) - present)]
    problems += [f"extra: {rel}" for rel in sorted(present - set(generated))]
    for rel in sorted(set(generated) & present):
        if (target / rel).read_text(encoding="utf-8") != generated[rel]:
            problems.append(f"stale: {rel}")
    return problems


def write(generated: dict[str, str], target: Path = SPECS_DIR) -> None:
    """Replace the files under `target` with `generated`."""
    for old in target.rglob("*.json"):
        if old.relative_to(target).as_posix() not in generated:
            old.unlink()
    for rel, text in generated.items():
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reconciler.openapi.generate",
        description="Regenerate reconciler/openapi/specs/ from Microsoft's swagger files.",
    )
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help="folder of Microsoft's swagger files (default: $RECONCILE_AZURE_SPECS, "
        "else ../shared/azure-rest-specs beside the repository)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the committed files are stale",
    )
    args = parser.parse_args(argv)
    source = args.source or upstream_dir()
    if source is None or not source.is_dir():
        print("error: no folder of Azure REST specs found; pass --from DIR", file=sys.stderr)
        return 2
    generated = generate(source)
    if args.check:
        problems = differences(generated)
        for line in problems:
            print(line)
        if problems:
            print("run `python -m reconciler.openapi.generate` to regenerate", file=sys.stderr)
        return 1 if problems else 0
    write(generated)
    print(f"wrote {len(generated)} files to {SPECS_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
