"""Request bodies held to the members Azure's models define.

Owns the check every PUT/PATCH handler applies to its body before reading it: a member the
operation's model does not define, at any nesting level the model describes, is refused
with 400 and the JSON path — as Azure's resource providers deserialize bodies strictly
(Compute answers `InvalidRequestContent`, "Could not find member 'x' on object of type
'GalleryProperties'. Path 'properties.x', line 1, position N."; Batch answers
`InvalidRequestBody`, its documented code for a request body it cannot read). Read-only
members a client sends (`id`, `provisioningState` …) are dropped, as Azure ignores them.

The models come from `members.json`, a table generated from Microsoft's OpenAPI specs by
`tests/conformance/members_table.py` (a test keeps it in step with them); the sandbox does
not read the specs at run time.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources as importlib_resources
from typing import Any

from reconciler.sandbox.arm import ArmError, Call

READ_ONLY = "-"
OPEN = "*"


@cache
def table() -> dict[str, Any]:
    text = importlib_resources.files("reconciler.sandbox").joinpath("members.json").read_text()
    return json.loads(text)


def request_body(call: Call, operation_id: str, *, code: str) -> dict[str, Any]:
    """The JSON object body of `call` checked against the operation's model.

    Returns a copy without read-only members; raises 400 `code` on the first member the
    model does not define.
    """
    body = call.json_object()
    model = table()["operations"].get(operation_id)
    if model is None:
        return body
    return _checked(body, model, [], call, code)


def _checked(value: Any, model: str, path: list[str | int], call: Call, code: str) -> Any:
    members = table()["types"].get(model)
    if members is None or not isinstance(value, dict):
        return value  # an open model, or a value of the wrong type (not this check's concern)
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name not in members:
            if OPEN in members:
                out[name] = item
                continue
            raise _unknown_member(call, code, model, [*path, name])
        kind = members[name]
        if kind == READ_ONLY:
            continue
        if kind is None:
            out[name] = item
        elif kind.endswith("[]") and isinstance(item, list):
            out[name] = [
                _checked(element, kind[:-2], [*path, name, i], call, code)
                for i, element in enumerate(item)
            ]
        else:
            out[name] = _checked(item, kind.removesuffix("[]"), [*path, name], call, code)
    return out


def _unknown_member(call: Call, code: str, model: str, path: list[str | int]) -> ArmError:
    dotted = _json_path(path)
    line, position = _locate(call.raw.decode("utf-8", "replace"), path)
    # The generated table suffixes a model that two specs name alike with "@<spec>".
    type_name = model.split("@", 1)[0]
    return ArmError(
        400,
        code,
        f"Could not find member '{path[-1]}' on object of type '{type_name}'. "
        f"Path '{dotted}', line {line}, position {position}.",
        target=dotted,
    )


def _json_path(path: list[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|([{}\[\],:])|([^\s{}\[\],:"]+))', re.DOTALL)


def _locate(text: str, target: list[str | int]) -> tuple[int, int]:
    """(line, position) just past the colon that follows member `target`, as Json.NET reports.

    A small scanner tracks the path of each member name; (1, 0) if `target` is not found.
    """
    stack: list[Any] = []  # per open container: [kind, key-or-index]
    index = 0
    while index < len(text):
        match = _TOKEN.match(text, index)
        if match is None or match.end() == index:
            break
        index = match.end()
        string, punct = match.group(1), match.group(2)
        if punct in ("{", "["):
            stack.append(["object" if punct == "{" else "array", None if punct == "{" else 0])
        elif punct in ("}", "]"):
            if stack:
                stack.pop()
        elif punct == "," and stack and stack[-1][0] == "array":
            stack[-1][1] += 1
        elif string is not None and stack and stack[-1][0] == "object":
            colon = re.compile(r"\s*:").match(text, index)
            if colon is None:
                continue  # a value, not a member name
            stack[-1][1] = json.loads(string)
            index = colon.end()
            if [entry[1] for entry in stack] == target:
                line = text.count("\n", 0, index) + 1
                return line, index - (text.rfind("\n", 0, index) + 1)
    return 1, 0
