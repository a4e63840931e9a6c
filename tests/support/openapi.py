"""Hold HTTP traffic to Microsoft's OpenAPI (swagger 2.0) definitions of the ARM APIs.

The definitions are the committed structure-only copies in `reconciler/openapi/specs/`
(generated from Microsoft's files by `reconciler.openapi.generate`), so a bare clone
validates every exchange too. Every swagger file there is loaded once per process, its ``$ref``s resolved within and across files (external
refs such as ``../../../../../../common-types/resource-management/v5/types.json#/...``
are matched on their trailing path, as the specs' README prescribes), and each schema is
translated into a JSON Schema (draft 7) that `jsonschema` validates:

* ``allOf`` is flattened into one object, so unknown properties can be refused
  (``additionalProperties: false`` unless the swagger says otherwise): a misspelt
  property in a response is a violation, not silently ignored;
* ``discriminator`` / ``x-ms-discriminator-value`` select the subtype by the
  discriminator property's value;
* ``readOnly`` properties are never required in request bodies;
* ``x-nullable: true`` admits ``null``;
* ``x-ms-enum`` with ``modelAsString: true`` admits any string; a closed enum is exact;
* ``format`` is not checked (ARM is lenient about it, and so are the SDKs);
* a definition the excerpted specs leave out (see the README) validates anything and is
  reported by :func:`unresolved_refs`.

Public API:

* :func:`operation_for` — which swagger operation a method + URL is;
* :func:`check_response` / :func:`check_request` — lists of human-readable violations,
  each naming the operation and the JSON path;
* :func:`reset_monitors` — forget the long-running-operation monitor URLs seen so far.

Long-running operations: the URLs a response hands out in ``Azure-AsyncOperation`` and
``Location`` are remembered. Polling an ``Azure-AsyncOperation`` URL is checked against the
operation-status shape ARM documents (``status`` required; ``error`` with ``code`` and
``message`` when ``Failed``/``Canceled``); polling a ``Location`` URL is checked against the
operation's final-state schema once it stops answering 202. Other URLs that no swagger
describes are *unvalidated* (counted, never violations), except that an error status must
still carry ARM's ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema

from reconciler.openapi import SPECS_DIR, upstream_dir
from reconciler.openapi.refs import SwaggerFiles

HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
TERMINAL_FAILURE = ("Failed", "Canceled")

# ARM's documented body of an Azure-AsyncOperation status monitor
# (Azure Resource Manager RPC, "Asynchronous operations").
ARM_ERROR_DETAIL: dict[str, Any] = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string", "minLength": 1},
        "message": {"type": "string"},
        "target": {"type": ["string", "null"]},
        "details": {"type": "array", "items": {"type": "object"}},
        "additionalInfo": {"type": "array", "items": {"type": "object"}},
    },
}
ARM_ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": ARM_ERROR_DETAIL},
}
ASYNC_OPERATION_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "resourceId": {"type": "string"},
        "status": {"type": "string", "minLength": 1},
        "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
        "startTime": {"type": "string"},
        "endTime": {"type": "string"},
        "properties": {"type": "object"},
        "error": ARM_ERROR_DETAIL,
    },
    "if": {"properties": {"status": {"enum": list(TERMINAL_FAILURE)}}, "required": ["status"]},
    "then": {"required": ["status", "error"]},
}


def specs_root() -> Path:
    """The folder of swagger files the validator loads: the committed structure-only copies."""
    return SPECS_DIR


def examples_root() -> Path | None:
    """Microsoft's original folder, whose ``examples/`` the replay tests send; None on a bare
    clone (``RECONCILE_AZURE_SPECS`` overrides where it is looked for)."""
    return upstream_dir()


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class ResponseInfo:
    """One declared response of an operation."""

    status: str
    schema: str | None  # definition key in the registry, or None when no body is declared
    headers: tuple[str, ...]


@dataclass(frozen=True)
class OperationInfo:
    """A swagger operation, as the validator sees it."""

    operation_id: str
    method: str  # upper case
    path: str  # the swagger path template
    spec: str  # swagger file, relative to the specs root
    api_version: str
    long_running: bool
    lro_options: Mapping[str, str]
    responses: Mapping[str, ResponseInfo]
    body_parameter: str | None  # name of the body parameter
    body_required: bool
    body_schema: str | None  # request-mode definition key
    path_parameters: tuple[str, ...]
    required_query: tuple[str, ...]
    examples: Mapping[str, str]  # title -> example path relative to the specs root
    final_state_schema: str | None = None

    def response_for(self, status: int) -> ResponseInfo | None:
        """The declared response for a status code; ``default`` covers errors only."""
        info = self.responses.get(str(status))
        if info is None and status >= 400:
            info = self.responses.get("default")
        return info


@dataclass
class _Monitor:
    kind: str  # "async" or "location"
    operation: OperationInfo
    method: str


@dataclass
class Stats:
    """What the validator saw: operations validated, URLs it could not place."""

    validated: dict[str, int] = field(default_factory=dict)
    unvalidated: dict[str, int] = field(default_factory=dict)

    def note(self, bucket: dict[str, int], key: str) -> None:
        bucket[key] = bucket.get(key, 0) + 1


STATS = Stats()
_MONITORS: dict[str, _Monitor] = {}
_MONITOR_LOCK = threading.Lock()
_MAX_MONITORS = 10_000


# --------------------------------------------------------------------------- loading


class _Registry(SwaggerFiles):
    """All swagger files, converted once into JSON Schema definitions plus an operation index."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.definitions: dict[str, Any] = {}
        self._converting: set[str] = set()
        self.unresolved: set[str] = set()
        self._subtypes: dict[tuple[str, str], list[tuple[str, str]]] | None = None
        self.operations: list[OperationInfo] = []
        self._patterns: list[tuple[int, int, re.Pattern[str], OperationInfo]] = []
        self._validators: dict[str, jsonschema.Draft7Validator] = {}
        self._validator_lock = threading.Lock()
        self.by_example: dict[str, OperationInfo] = {}
        for rel in self.files:
            doc = self.doc(rel)
            if isinstance(doc, dict) and doc.get("swagger") and doc.get("paths"):
                self._index_operations(rel, doc)
        self._patterns.sort(key=lambda item: (item[0], -item[1]))

    @staticmethod
    def _key(rel: str, name: str, mode: str) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", rel.removesuffix(".json")).strip("_")
        return f"{mode}.{slug}.{name}"

    # -- schema conversion (swagger 2.0 -> JSON Schema draft 7)

    def definition(self, rel: str, pointer: str, mode: str) -> str:
        """Convert the schema at ``rel#pointer`` (once) and return its definition key."""
        name = pointer.strip("/").replace("/", ".")
        key = self._key(rel, name, mode)
        if key in self.definitions or key in self._converting:
            return key
        self._converting.add(key)
        found = self.resolve(rel, "#" + pointer)
        target = found[2] if found else {}
        converted = self._convert(target, rel, mode, pointer=pointer)
        self.definitions[key] = converted
        self._converting.discard(key)
        return key

    def _ref(self, base: str, ref: str, mode: str) -> dict[str, Any]:
        found = self.resolve(base, ref)
        if found is None:
            self.unresolved.add(f"{base}: {ref}")
            return {}
        rel, pointer, _ = found
        return {"$ref": "#/definitions/" + self.definition(rel, pointer, mode)}

    def _deref(self, schema: Any, rel: str) -> tuple[Any, str, str | None]:
        """Follow ``$ref`` chains to the raw swagger schema (and the file it sits in)."""
        pointer = None
        seen = 0
        while isinstance(schema, dict) and "$ref" in schema and seen < 32:
            found = self.resolve(rel, schema["$ref"])
            if found is None:
                self.unresolved.add(f"{rel}: {schema['$ref']}")
                return {}, rel, None
            rel, pointer, schema = found
            seen += 1
        return schema, rel, pointer

    def _flatten(
        self, schema: dict[str, Any], rel: str, depth: int = 0
    ) -> tuple[dict[str, tuple[Any, str]], set[str], list[tuple[Any, str]], Any]:
        """Merge ``allOf`` parents: properties (with their file), required, other parts.

        A parent the specs do not hold (an excerpt's missing definition) leaves the
        object open: its properties are unknown, so extra properties cannot be refused.
        """
        props: dict[str, tuple[Any, str]] = {}
        required: set[str] = set()
        others: list[tuple[Any, str]] = []
        additional: Any = schema.get("additionalProperties")
        for part in schema.get("allOf", []) if depth < 32 else []:
            raw, prel, _ = self._deref(part, rel)
            if not raw:
                additional = True if additional is None else additional
                continue
            if not isinstance(raw, dict):
                continue
            if raw.get("properties") or raw.get("allOf"):
                p, r, o, a = self._flatten(raw, prel, depth + 1)
                props.update(p)
                required |= r
                others.extend(o)
                if additional is None and a is not None:
                    additional = a
            elif raw:
                others.append((raw, prel))
        for name, sub in (schema.get("properties") or {}).items():
            props[name] = (sub, rel)
        required |= set(schema.get("required") or [])
        return props, required, others, additional

    def _read_only(self, prop: tuple[Any, str] | None) -> bool:
        if prop is None or not isinstance(prop[0], dict):
            return False
        if prop[0].get("readOnly") is True:
            return True
        raw, _, _ = self._deref(prop[0], prop[1])
        return isinstance(raw, dict) and raw.get("readOnly") is True

    def _secret(self, prop: tuple[Any, str] | None) -> bool:
        if prop is None or not isinstance(prop[0], dict):
            return False
        raw, _, _ = self._deref(prop[0], prop[1])
        return prop[0].get("x-ms-secret") is True or (
            isinstance(raw, dict) and raw.get("x-ms-secret") is True
        )

    def _subtypes_of(self, rel: str, name: str) -> list[tuple[str, str]]:
        """Definitions (file, name) that extend ``rel#/definitions/name`` through allOf."""
        if self._subtypes is None:
            index: dict[tuple[str, str], list[tuple[str, str]]] = {}
            for frel in self.files:
                doc = self.doc(frel)
                for dname, dschema in (doc.get("definitions") or {}).items():
                    for part in dschema.get("allOf", []) if isinstance(dschema, dict) else []:
                        if isinstance(part, dict) and "$ref" in part:
                            found = self.resolve(frel, part["$ref"])
                            if found:
                                parent = (found[0], found[1].rsplit("/", 1)[-1])
                                index.setdefault(parent, []).append((frel, dname))
            self._subtypes = index
        result: list[tuple[str, str]] = []
        for child in self._subtypes.get((rel, name), []):
            result.append(child)
            result.extend(self._subtypes_of(*child))
        return result

    def _convert(
        self, schema: Any, rel: str, mode: str, pointer: str | None = None
    ) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        if "$ref" in schema:
            out = self._ref(rel, schema["$ref"], mode)
            if schema.get("x-nullable") is True and out:
                return {"anyOf": [out, {"type": "null"}]}
            return out
        # Polymorphic base: pick the subtype by the discriminator's value.
        discriminator = schema.get("discriminator")
        if discriminator and pointer and pointer.startswith("/definitions/"):
            base_name = pointer.rsplit("/", 1)[-1]
            branches = []
            for srel, sname in self._subtypes_of(rel, base_name):
                sub = self.doc(srel)["definitions"][sname]
                value = sub.get("x-ms-discriminator-value", sname)
                branches.append((value, self.definition(srel, f"/definitions/{sname}", mode)))
            if branches:
                plain = self._convert_plain(schema, rel, mode)
                out: dict[str, Any] = plain
                for value, key in reversed(branches):
                    out = {
                        "if": {
                            "properties": {discriminator: {"const": value}},
                            "required": [discriminator],
                        },
                        "then": {"$ref": "#/definitions/" + key},
                        "else": out,
                    }
                return out
        return self._convert_plain(schema, rel, mode)

    def _convert_plain(self, schema: dict[str, Any], rel: str, mode: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        stype = schema.get("type")
        if isinstance(stype, str) and stype != "file":
            out["type"] = stype
        enum = schema.get("enum")
        x_enum = schema.get("x-ms-enum") or {}
        if enum is not None:
            if x_enum.get("modelAsString"):
                out.setdefault("type", "string")
            else:
                out["enum"] = list(enum)
        for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems"):
            if key in schema:
                out[key] = schema[key]
        if "pattern" in schema and out.get("type") == "string":
            try:
                re.compile(schema["pattern"])
                out["pattern"] = schema["pattern"]
            except re.error:
                pass
        if "items" in schema:
            out["items"] = self._convert(schema["items"], rel, mode)
        has_object_shape = bool(
            schema.get("properties") or schema.get("allOf") or stype == "object"
        )
        if has_object_shape:
            props, required, others, additional = self._flatten(schema, rel)
            if props:
                out["properties"] = {
                    name: self._convert(sub, prel, mode) for name, (sub, prel) in props.items()
                }
            if mode == "request":
                # The caller never sends what only the service sets.
                required = {name for name in required if not self._read_only(props.get(name))}
            else:
                # ARM never returns secrets (x-ms-secret), so they cannot be required there.
                required = {name for name in required if not self._secret(props.get(name))}
            if required:
                out["required"] = sorted(required)
            if isinstance(additional, dict):
                out["additionalProperties"] = self._convert(additional, rel, mode)
            elif additional is not None:
                out["additionalProperties"] = bool(additional)
            elif props:
                out["additionalProperties"] = False
            if others:
                out["allOf"] = [self._convert(o, orel, mode) for o, orel in others]
        if schema.get("x-nullable") is True:
            if isinstance(out.get("type"), str):
                out["type"] = [out["type"], "null"]
                if "enum" in out:
                    out["enum"] = [*out["enum"], None]
            elif out:
                out = {"anyOf": [out, {"type": "null"}]}
        return out

    # -- operations

    def _parameter(self, rel: str, param: Any) -> dict[str, Any]:
        raw, _, _ = self._deref(param, rel)
        return raw if isinstance(raw, dict) else {}

    def _index_operations(self, rel: str, doc: dict[str, Any]) -> None:
        version = str((doc.get("info") or {}).get("version", ""))
        paths = dict(doc.get("paths") or {})
        paths.update(doc.get("x-ms-paths") or {})
        for template, item in paths.items():
            common = list(item.get("parameters") or [])
            for method in HTTP_METHODS:
                op = item.get(method)
                if not isinstance(op, dict):
                    continue
                info = self._operation(rel, version, template, method, op, common)
                self.operations.append(info)
                path_only = template.split("?", 1)[0]
                regex = "".join(
                    "[^/]+" if part.startswith("{") else re.escape(part)
                    for part in re.split(r"(\{[^}]+\})", path_only)
                    if part
                )
                literal_len = len(re.sub(r"\{[^}]+\}", "", path_only))
                self._patterns.append(
                    (
                        path_only.count("{"),
                        literal_len,
                        re.compile(regex + "/?$", re.IGNORECASE),
                        info,
                    )
                )

    def _operation(
        self,
        rel: str,
        version: str,
        template: str,
        method: str,
        op: dict[str, Any],
        common: list[Any],
    ) -> OperationInfo:
        params = [self._parameter(rel, p) for p in [*common, *(op.get("parameters") or [])]]
        body = next((p for p in params if p.get("in") == "body"), None)
        body_schema = None
        if body is not None:
            body_schema = self._schema_key(rel, body.get("schema"), "request", op, "request")
        responses: dict[str, ResponseInfo] = {}
        for status, resp in (op.get("responses") or {}).items():
            resp, rrel, _ = self._deref(resp, rel)
            key = None
            if isinstance(resp, dict) and resp.get("schema") is not None:
                key = self._schema_key(rrel, resp["schema"], "response", op, status)
            headers = tuple(h.lower() for h in ((resp or {}).get("headers") or {}))
            responses[str(status)] = ResponseInfo(str(status), key, headers)
        options = dict(op.get("x-ms-long-running-operation-options") or {})
        final_schema = None
        if options.get("final-state-schema"):
            final_schema = self._schema_key(
                rel, {"$ref": options["final-state-schema"]}, "response", op, "final"
            )
        examples = {}
        for title, ex in (op.get("x-ms-examples") or {}).items():
            ref = ex.get("$ref") if isinstance(ex, dict) else None
            if ref:
                path = ((self.root / rel).parent / ref).resolve()
                try:
                    examples[title] = path.relative_to(self.root).as_posix()
                except ValueError:
                    continue
        info = OperationInfo(
            operation_id=str(op.get("operationId", f"{method.upper()} {template}")),
            method=method.upper(),
            path=template,
            spec=rel,
            api_version=version,
            long_running=bool(op.get("x-ms-long-running-operation")),
            lro_options=options,
            responses=responses,
            body_parameter=body.get("name") if body else None,
            body_required=bool(body and body.get("required")),
            body_schema=body_schema,
            path_parameters=tuple(p["name"] for p in params if p.get("in") == "path"),
            required_query=tuple(
                p["name"] for p in params if p.get("in") == "query" and p.get("required")
            ),
            examples=examples,
            final_state_schema=final_schema,
        )
        for path in examples.values():
            self.by_example[path] = info
        return info

    def _schema_key(
        self, rel: str, schema: Any, mode: str, op: dict[str, Any], label: str
    ) -> str | None:
        if not isinstance(schema, dict):
            return None
        if "$ref" in schema and len(schema) == 1:
            found = self.resolve(rel, schema["$ref"])
            if found is None:
                self.unresolved.add(f"{rel}: {schema['$ref']}")
                return None
            return self.definition(found[0], found[1], mode)
        key = self._key(rel, f"inline.{op.get('operationId', '?')}.{label}", mode)
        self.definitions[key] = self._convert(schema, rel, mode)
        return key

    # -- matching and validation

    def match(self, method: str, url: str) -> OperationInfo | None:
        path = urlsplit(url).path or "/"
        method = method.upper()
        for _, _, pattern, info in self._patterns:
            if info.method == method and pattern.match(path):
                return info
        return None

    def validator(self, key: str) -> jsonschema.Draft7Validator:
        found = self._validators.get(key)
        if found is None:
            with self._validator_lock:
                found = self._validators.get(key)
                if found is None:
                    # Refs are inlined (resolving them at validation time costs more than
                    # the checks themselves); only recursive ones stay refs.
                    schema = dict(self._inline(self.definitions[key], (key,)))
                    schema["definitions"] = self.definitions
                    found = jsonschema.Draft7Validator(schema)
                    self._validators[key] = found
        return found

    def _inline(self, node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [self._inline(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            target = ref.removeprefix("#/definitions/")
            if target in stack or len(stack) > 40:
                return node
            return self._inline(self.definitions[target], (*stack, target))
        return {k: self._inline(v, stack) for k, v in node.items()}


@lru_cache(maxsize=4)
def _registry_at(root: str) -> _Registry:
    return _Registry(Path(root))


def registry() -> _Registry:
    """The loaded specs (cached per process and specs folder)."""
    return _registry_at(str(specs_root().resolve()))


def unresolved_refs() -> set[str]:
    """``$ref``s the loaded specs use but the committed folder does not hold."""
    return set(registry().unresolved)


# --------------------------------------------------------------------------- public API


def operation_for(method: str, url: str) -> OperationInfo | None:
    """The swagger operation a request is, matched on method and path (case-insensitive)."""
    return registry().match(method, url)


def _format_path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validate_instance(key: str, instance: Any, label: str) -> list[str]:
    """Validate ``instance`` against a registry definition; violations name ``label``."""
    validator = registry().validator(key)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
    return [f"{label}: {_format_path(err.absolute_path)}: {_short(err.message)}" for err in errors]


def _validate_plain(schema: dict[str, Any], instance: Any, label: str) -> list[str]:
    errors = jsonschema.Draft7Validator(schema).iter_errors(instance)
    return [
        f"{label}: {_format_path(err.absolute_path)}: {_short(err.message)}"
        for err in sorted(errors, key=lambda e: list(e.absolute_path))
    ]


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers.items():
        if key.lower() == lname:
            return value
    return None


def _parse_json(body: bytes, label: str) -> tuple[Any, list[str]]:
    try:
        return json.loads(body), []
    except (ValueError, UnicodeDecodeError) as exc:
        return None, [f"{label}: body is not JSON ({exc})"]


def _monitor_key(url: str) -> str:
    parts = urlsplit(url)
    query = sorted((k, v) for k, v in parse_qsl(parts.query) if k.lower() != "api-version")
    return parts.path.rstrip("/").lower() + "?" + "&".join(f"{k}={v}" for k, v in query)


def reset_monitors() -> None:
    """Forget the operation-status URLs remembered from long-running operations."""
    with _MONITOR_LOCK:
        _MONITORS.clear()


def _remember(url: str, monitor: _Monitor) -> None:
    with _MONITOR_LOCK:
        if len(_MONITORS) >= _MAX_MONITORS:
            _MONITORS.pop(next(iter(_MONITORS)))
        _MONITORS[_monitor_key(url)] = monitor


def _check_lro_headers(
    op: OperationInfo, method: str, status: int, headers: Mapping[str, str], label: str
) -> list[str]:
    problems: list[str] = []
    async_url = _header(headers, "Azure-AsyncOperation")
    location = _header(headers, "Location")
    if status == 202 and not (async_url or location):
        problems.append(
            f"{label}: 202 from a long-running operation carries neither "
            "Azure-AsyncOperation nor Location"
        )
    for name, value, kind in (
        ("Azure-AsyncOperation", async_url, "async"),
        ("Location", location, "location"),
    ):
        if not value:
            continue
        if not re.match(r"^https?://", value):
            problems.append(f"{label}: {name} header is not an absolute URL: {value!r}")
            continue
        _remember(value, _Monitor(kind, op, method.upper()))
    retry_after = _header(headers, "Retry-After")
    if retry_after is not None and not retry_after.strip().isdigit():
        problems.append(f"{label}: Retry-After is not a whole number of seconds: {retry_after!r}")
    return problems


def _check_monitor(
    monitor: _Monitor, status: int, headers: Mapping[str, str], body: bytes, label: str
) -> list[str]:
    op = monitor.operation
    label = f"{label} (status monitor of {op.operation_id})"
    STATS.note(STATS.validated, f"{op.operation_id}#{monitor.kind}-monitor")
    if status >= 400:
        data, problems = _parse_json(body, label)
        if problems:
            return problems
        info = op.response_for(status)
        if info and info.schema:
            return validate_instance(info.schema, data, f"{label} {status}")
        return _validate_plain(ARM_ERROR_BODY, data, f"{label} {status}")
    if monitor.kind == "async":
        if status != 200:
            return [f"{label}: Azure-AsyncOperation monitor answered {status}, ARM requires 200"]
        data, problems = _parse_json(body, label)
        if problems:
            return problems
        return _validate_plain(ASYNC_OPERATION_STATUS, data, f"{label} 200")
    # Location monitor: 202 while running; then the final state.
    if status == 202:
        return []
    if status not in (200, 201, 204):
        return [f"{label}: Location monitor answered {status}; expected 202, 200, 201 or 204"]
    if monitor.method in ("DELETE",) or not body.strip():
        return []
    key = op.final_state_schema
    if key is None and monitor.method in ("PUT", "PATCH"):
        info = op.responses.get("200") or op.responses.get("201")
        key = info.schema if info else None
    if key is None:
        return []
    data, problems = _parse_json(body, label)
    if problems:
        return problems
    return validate_instance(key, data, f"{label} {status}")


def _looks_like_status_url(path: str) -> bool:
    return bool(
        re.search(r"/(operations|operationresults|operationstatuses|asyncoperations)/", path, re.I)
    )


def check_response(
    method: str, url: str, status: int, headers: Mapping[str, str], body: bytes
) -> list[str]:
    """Violations of the operation's declared response (status, body schema, LRO headers)."""
    problems: list[str] = []
    method = method.upper()
    path = urlsplit(url).path
    label = f"{method} {path} -> {status}"
    if _header(headers, "x-ms-request-id") is None:
        problems.append(f"{label}: no x-ms-request-id header (ARM sends one on every response)")
    op = operation_for(method, url)
    if op is None:
        monitor = _MONITORS.get(_monitor_key(url)) if method == "GET" else None
        if monitor is not None:
            return problems + _check_monitor(monitor, status, headers, body, label)
        data = None
        if body.strip():
            data, bad = _parse_json(body, label)
            if bad:
                return problems + bad
        if status >= 400:
            STATS.note(STATS.unvalidated, f"{method} {path}")
            return problems + _validate_plain(ARM_ERROR_BODY, data, f"{label} (unknown URL)")
        if method == "GET" and _looks_like_status_url(path) and isinstance(data, dict):
            STATS.note(STATS.validated, "operation-status")
            return problems + _validate_plain(
                ASYNC_OPERATION_STATUS, data, f"{label} (operation status)"
            )
        STATS.note(STATS.unvalidated, f"{method} {path}")
        return problems
    label = f"{op.operation_id} {label}"
    STATS.note(STATS.validated, op.operation_id)
    info = op.response_for(status)
    if info is None:
        declared = ", ".join(sorted(op.responses))
        return [*problems, f"{label}: status {status} is not declared (declared: {declared})"]
    if op.long_running and 200 <= status < 300:
        problems += _check_lro_headers(op, method, status, headers, label)
    if status == 204 and body.strip():
        problems.append(f"{label}: 204 with a body")
    if "etag" in info.headers and 200 <= status < 300 and _header(headers, "ETag") is None:
        # Declared for Batch pools: the ETag is what If-Match needs.
        problems.append(f"{label}: no ETag header (the operation declares one)")
    if info.schema is None:
        return problems
    if not body.strip():
        return [*problems, f"{label}: empty body; the operation declares a response schema"]
    data, bad = _parse_json(body, label)
    if bad:
        return problems + bad
    next_link = data.get("nextLink") if isinstance(data, dict) else None
    if isinstance(next_link, str) and not re.match(r"^https?://", next_link):
        problems.append(f"{label}: $.nextLink is not an absolute URL: {next_link!r}")
    return problems + validate_instance(info.schema, data, label)


def check_request(method: str, url: str, headers: Mapping[str, str], body: bytes) -> list[str]:
    """Violations of the operation's request: api-version, required query, body schema."""
    op = operation_for(method, url)
    if op is None:
        return []
    label = f"{op.operation_id} request {method.upper()} {urlsplit(url).path}"
    problems: list[str] = []
    query = {k.lower() for k, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    for name in op.required_query:
        if name.lower() not in query:
            problems.append(f"{label}: required query parameter {name!r} missing")
    if op.body_parameter is None:
        return problems
    if not body.strip():
        if op.body_required:
            problems.append(f"{label}: body parameter {op.body_parameter!r} is required")
        return problems
    data, bad = _parse_json(body, label)
    if bad or op.body_schema is None:
        return problems + bad
    return problems + validate_instance(op.body_schema, data, f"{label} body")


def check_exchange(
    method: str,
    url: str,
    request_headers: Mapping[str, str],
    request_body: bytes,
    status: int,
    response_headers: Mapping[str, str],
    response_body: bytes,
) -> list[str]:
    """Both checks for one exchange; a request violation counts only if it was accepted (2xx).

    A malformed request the sandbox refuses with 4xx is the sandbox doing its job; one it
    accepts means either the caller or the sandbox is lenient where Azure is not.
    """
    problems = []
    if 200 <= status < 300:
        problems += [
            p + " (accepted by the sandbox)"
            for p in check_request(method, url, request_headers, request_body)
        ]
    return problems + check_response(method, url, status, response_headers, response_body)
