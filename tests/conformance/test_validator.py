"""The OpenAPI validator itself: spec loading, matching, and what it accepts and refuses."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support import openapi

SUB = "00000000-0000-0000-0000-000000000001"
ARM = "https://management.azure.com"
GALLERY_URL = (
    f"{ARM}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1"
    "?api-version=2026-03-03"
)
POOL_URL = (
    f"{ARM}/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Batch/batchAccounts/acct"
    "/pools/p1?api-version=2025-06-01"
)
OK_HEADERS = {"x-ms-request-id": "r1", "Content-Type": "application/json"}


def _gallery(**props) -> dict:
    return {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/g1",
        "name": "g1",
        "type": "Microsoft.Compute/galleries",
        "location": "westeurope",
        "properties": {"provisioningState": "Succeeded", **props},
    }


def _body(data: object) -> bytes:
    return json.dumps(data).encode()


def test_specs_load_quickly_and_once():
    """The committed swaggers load in well under two seconds and are cached."""
    openapi._registry_at.cache_clear()
    start = time.perf_counter()
    first = openapi.registry()
    assert time.perf_counter() - start < 2.0
    assert first is openapi.registry()
    ids = {op.operation_id for op in first.operations}
    assert {"Galleries_Get", "Pool_Create", "Images_CreateOrUpdate", "Snapshots_Get"} <= ids


def test_only_the_documented_missing_refs_are_unresolved():
    """Cross-file refs resolve by trailing path; only what the README says is absent is missing."""
    missing = openapi.unresolved_refs()
    assert not [m for m in missing if "common-types/resource-management/v3" in m]
    assert not [m for m in missing if "common-types/v1/common.json" in m]
    for entry in missing:
        assert (
            "networksecurityperimeter.json" in entry
            or entry.startswith("compute-images/2026-04-01/ComputeRP.images-excerpt.json: #/")
            or entry.startswith("compute-disk/2026-03-02/DiskRP.snapshots-excerpt.json: #/")
        ), entry


@pytest.mark.parametrize(
    ("method", "url", "operation_id"),
    [
        ("GET", GALLERY_URL, "Galleries_Get"),
        (
            "put",
            GALLERY_URL.replace("/resourceGroups/", "/RESOURCEGROUPS/"),
            "Galleries_CreateOrUpdate",
        ),
        ("GET", GALLERY_URL.replace("g1?", "g1/images?"), "GalleryImages_ListByGallery"),
        ("DELETE", POOL_URL, "Pool_Delete"),
        ("POST", POOL_URL.replace("p1?", "p1/stopResize?"), "Pool_StopResize"),
        ("GET", f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Compute/images", "Images_List"),
    ],
)
def test_operation_for_matches_method_and_path_case_insensitively(method, url, operation_id):
    """A request is matched to its swagger operation by method and path, ignoring case."""
    op = openapi.operation_for(method, url)
    assert op is not None and op.operation_id == operation_id


def test_operation_for_reports_lro_options():
    """Operation info carries the long-running flag and final-state-via."""
    op = openapi.operation_for("PUT", GALLERY_URL)
    assert op.long_running and op.lro_options["final-state-via"] == "location"
    assert not openapi.operation_for("PUT", POOL_URL).long_running
    assert openapi.operation_for("GET", f"{ARM}/subscriptions/{SUB}/nothing/here") is None


def test_valid_gallery_response_has_no_violations():
    """A well-formed gallery GET response passes."""
    assert openapi.check_response("GET", GALLERY_URL, 200, OK_HEADERS, _body(_gallery())) == []


def test_misspelt_property_is_a_violation_with_its_json_path():
    """An undocumented property is refused and the message names its JSON path."""
    bad = _gallery(provisioningstate="Succeeded")
    problems = openapi.check_response("GET", GALLERY_URL, 200, OK_HEADERS, _body(bad))
    assert len(problems) == 1
    assert "Galleries_Get" in problems[0] and "$.properties" in problems[0]
    assert "provisioningstate" in problems[0]


def test_wrong_type_is_a_violation():
    """A property of the wrong JSON type is refused."""
    bad = _gallery(description=42)
    problems = openapi.check_response("GET", GALLERY_URL, 200, OK_HEADERS, _body(bad))
    assert any("$.properties.description" in p and "string" in p for p in problems)


def test_open_enum_accepts_any_string_and_closed_enum_does_not():
    """x-ms-enum modelAsString admits new values; a closed enum (allocationState) does not."""
    odd_state = _gallery()
    odd_state["properties"]["provisioningState"] = "SomethingNew"
    assert openapi.check_response("GET", GALLERY_URL, 200, OK_HEADERS, _body(odd_state)) == []
    pool = {"name": "p1", "properties": {"allocationState": "Sleeping"}}
    headers = {**OK_HEADERS, "ETag": 'W/"1"'}
    problems = openapi.check_response("GET", POOL_URL, 200, headers, _body(pool))
    assert any("allocationState" in p for p in problems)


def test_undeclared_status_and_missing_request_id_are_violations():
    """A status the operation does not declare, or no x-ms-request-id, is reported."""
    problems = openapi.check_response("GET", GALLERY_URL, 201, {}, _body(_gallery()))
    assert any("not declared" in p for p in problems)
    assert any("x-ms-request-id" in p for p in problems)


def test_declared_etag_header_is_required_on_success():
    """Pool GET declares an ETag response header; a 200 without one is reported."""
    pool = _body({"name": "p1", "properties": {"allocationState": "Steady"}})
    problems = openapi.check_response("GET", POOL_URL, 200, OK_HEADERS, pool)
    assert any("ETag" in p for p in problems)
    with_etag = {**OK_HEADERS, "ETag": 'W/"0x1"'}
    assert openapi.check_response("GET", POOL_URL, 200, with_etag, pool) == []


def test_next_link_must_be_an_absolute_url():
    """A list's nextLink must be an absolute URL the SDK can follow."""
    url = GALLERY_URL.replace("/galleries/g1?", "/galleries?")
    good = _body({"value": [], "nextLink": "https://management.azure.com/x?$skiptoken=2"})
    assert openapi.check_response("GET", url, 200, OK_HEADERS, good) == []
    bad = _body({"value": [], "nextLink": "/x?$skiptoken=2"})
    assert any("nextLink" in p for p in openapi.check_response("GET", url, 200, OK_HEADERS, bad))


def test_error_responses_use_the_default_schema():
    """Errors validate against the operation's default (CloudError) schema."""
    good = {"error": {"code": "ResourceNotFound", "message": "not found"}}
    assert openapi.check_response("GET", GALLERY_URL, 404, OK_HEADERS, _body(good)) == []
    bad = {"code": "ResourceNotFound", "message": "not found"}
    assert openapi.check_response("GET", GALLERY_URL, 404, OK_HEADERS, _body(bad)) != []


def test_empty_body_where_a_schema_is_declared_is_a_violation():
    """A 200 that declares a schema must carry a body."""
    problems = openapi.check_response("GET", GALLERY_URL, 200, OK_HEADERS, b"")
    assert any("empty body" in p for p in problems)


def test_lro_202_without_monitor_headers_is_a_violation():
    """A long-running 202 must hand out Azure-AsyncOperation or Location."""
    problems = openapi.check_response("DELETE", GALLERY_URL, 202, OK_HEADERS, b"")
    assert any("neither" in p for p in problems)


def test_async_operation_monitor_bodies_are_checked():
    """Polling an Azure-AsyncOperation URL must return ARM's status shape (error when Failed)."""
    openapi.reset_monitors()
    monitor = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/capsOperations/op1?api-version=2026-03-03"
    headers = {**OK_HEADERS, "Azure-AsyncOperation": monitor}
    assert openapi.check_response("DELETE", GALLERY_URL, 202, headers, b"") == []
    running = _body({"status": "InProgress", "name": "op1"})
    assert openapi.check_response("GET", monitor, 200, OK_HEADERS, running) == []
    failed = _body({"status": "Failed"})
    problems = openapi.check_response("GET", monitor, 200, OK_HEADERS, failed)
    assert any("error" in p and "status monitor" in p for p in problems)


def test_location_monitor_final_body_is_checked_against_the_final_state_schema():
    """The final answer of a Location monitor is validated as the operation's resource."""
    openapi.reset_monitors()
    monitor = f"{ARM}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westeurope/operationResults/op2"
    headers = {**OK_HEADERS, "Location": monitor}
    assert openapi.check_response("PUT", GALLERY_URL, 201, headers, _body(_gallery())) == []
    assert openapi.check_response("GET", monitor, 202, OK_HEADERS, b"") == []
    assert openapi.check_response("GET", monitor, 200, OK_HEADERS, _body(_gallery())) == []
    bad = openapi.check_response("GET", monitor, 200, OK_HEADERS, _body(_gallery(x=1)))
    assert any("status monitor of Galleries_CreateOrUpdate" in p for p in bad)


def test_unknown_urls_are_unvalidated_not_violations():
    """A URL no swagger describes is counted as unvalidated; errors there must still be ARM errors."""
    url = f"{ARM}/subscriptions/{SUB}/resourcegroups/rg?api-version=2021-04-01"
    before = sum(openapi.STATS.unvalidated.values())
    assert openapi.check_response("GET", url, 200, OK_HEADERS, _body({"name": "rg"})) == []
    assert sum(openapi.STATS.unvalidated.values()) == before + 1
    assert openapi.check_response("GET", url, 404, OK_HEADERS, _body({"oops": 1})) != []


def test_check_request_requires_api_version_and_ignores_read_only_required():
    """Requests need api-version; read-only properties are never required in a request body."""
    no_version = GALLERY_URL.split("?")[0]
    body = _body({"location": "westeurope", "properties": {"description": "d"}})
    assert any("api-version" in p for p in openapi.check_request("PUT", no_version, {}, body))
    assert openapi.check_request("PUT", GALLERY_URL, {}, body) == []
    assert openapi.check_request("PUT", GALLERY_URL, {}, b"") != []
    wrong = _body({"location": "westeurope", "properties": {"descripton": "d"}})
    assert any("descripton" in p for p in openapi.check_request("PUT", GALLERY_URL, {}, wrong))


def test_request_violations_count_only_when_the_sandbox_accepts_them():
    """check_exchange reports a malformed request only if the sandbox answered 2xx."""
    wrong = _body({"properties": {"descripton": "d"}})
    error = _body({"error": {"code": "InvalidParameter", "message": "bad"}})
    refused = openapi.check_exchange("PUT", GALLERY_URL, {}, wrong, 400, OK_HEADERS, error)
    assert refused == []
    accepted = openapi.check_exchange(
        "PUT", GALLERY_URL, {}, wrong, 200, OK_HEADERS, _body(_gallery())
    )
    assert any("accepted by the sandbox" in p for p in accepted)


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_swagger_specifics_on_a_synthetic_spec(tmp_path):
    """Discriminators, x-nullable, readOnly and trailing-path cross-file refs behave as swagger 2.0."""
    _write(
        tmp_path / "common-types/resource-management/v9/types.json",
        {
            "swagger": "2.0",
            "paths": {},
            "definitions": {
                "Resource": {"properties": {"id": {"type": "string", "readOnly": True}}}
            },
        },
    )
    _write(
        tmp_path / "svc/spec.json",
        {
            "swagger": "2.0",
            "info": {"version": "2099-01-01"},
            "paths": {
                "/things/{name}": {
                    "put": {
                        "operationId": "Things_Put",
                        "parameters": [
                            {"name": "name", "in": "path", "required": True, "type": "string"},
                            {
                                "name": "body",
                                "in": "body",
                                "schema": {"$ref": "#/definitions/Thing"},
                            },
                        ],
                        "responses": {"200": {"schema": {"$ref": "#/definitions/Thing"}}},
                    }
                }
            },
            "definitions": {
                "Thing": {
                    "allOf": [
                        {
                            "$ref": "../../../x/y/common-types/resource-management/v9/types.json#/definitions/Resource"
                        }
                    ],
                    "required": ["id", "shape"],
                    "properties": {
                        "note": {"type": "string", "x-nullable": True},
                        "shape": {"$ref": "#/definitions/Shape"},
                    },
                },
                "Shape": {
                    "discriminator": "kind",
                    "required": ["kind"],
                    "properties": {"kind": {"type": "string"}},
                },
                "Circle": {
                    "x-ms-discriminator-value": "circle",
                    "allOf": [{"$ref": "#/definitions/Shape"}],
                    "required": ["radius"],
                    "properties": {"radius": {"type": "number"}},
                },
            },
        },
    )
    reg = openapi._Registry(tmp_path)
    assert not reg.unresolved
    op = reg.match("PUT", "/things/a")
    response = op.responses["200"].schema

    def errors(key, data):
        return list(reg.validator(key).iter_errors(data))

    circle = {"id": "x", "note": None, "shape": {"kind": "circle", "radius": 2}}
    assert errors(response, circle) == []
    assert errors(response, {**circle, "shape": {"kind": "circle"}})  # radius required
    assert errors(response, {**circle, "shape": {"kind": "circle", "radius": 1, "side": 2}})
    assert errors(response, {**circle, "shape": {"kind": "other"}}) == []
    assert errors(response, {"shape": {"kind": "other"}})  # id required in a response
    assert errors(op.body_schema, {"shape": {"kind": "other"}}) == []  # ...but not in a request
