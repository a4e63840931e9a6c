"""Request bodies: members the models do not define are refused, read-only ones ignored."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import HttpResponseError

from reconciler.sandbox import Sandbox, SandboxRequest
from reconciler.sandbox.members import _locate
from tests.sandbox.conftest import (
    ACCOUNT,
    COMPUTE,
    RG_BATCH,
    RG_IMAGES,
    SNAPSHOT,
    SUB,
    definition_body,
    image_body,
    make_version,
    pool_body,
    update_version,
)

BASE = "https://management.azure.com"
HEADERS = {"Authorization": "Bearer t", "Content-Type": "application/json"}


def send(sandbox: Sandbox, method: str, path: str, api: str, raw: str):
    url = f"{BASE}{path}?api-version={api}"
    return sandbox.handle(SandboxRequest(method, url, HEADERS, raw.encode()))


def test_unknown_gallery_member_is_refused_with_its_path_and_position(sandbox):
    """Compute answers 400 InvalidRequestContent naming the member, its model and where it is."""
    raw = '{"location": "westeurope", "properties": {"bogus": 1}}'
    answer = send(sandbox, "PUT", f"{COMPUTE}/galleries/g", "2026-03-03", raw)
    assert answer.status == 400
    assert answer.json()["error"] == {
        "code": "InvalidRequestContent",
        "message": "Could not find member 'bogus' on object of type 'GalleryProperties'. "
        "Path 'properties.bogus', line 1, position 50.",
        "target": "properties.bogus",
    }
    assert send(sandbox, "GET", f"{COMPUTE}/galleries/g", "2026-03-03", "").status == 404


def test_unknown_members_are_refused_at_every_level_through_the_sdk(compute, batch):
    """Top-level, nested and list-item members are checked for galleries, versions, images, pools."""
    cases = [
        (
            lambda: compute.galleries.begin_create_or_update(
                RG_IMAGES, "g", {"location": "westeurope", "colour": "red"}
            ),
            "InvalidRequestContent",
            "colour",
        ),
        (
            lambda: compute.gallery_images.begin_create_or_update(
                RG_IMAGES,
                "g",
                "d",
                {**definition_body(), "properties": {**definition_body()["properties"], "x": 1}},
            ),
            "InvalidRequestContent",
            "properties.x",
        ),
        (
            lambda: compute.images.begin_create_or_update(
                RG_IMAGES,
                "img",
                image_body({"id": SNAPSHOT, "name": "oops"}),
            ),
            "InvalidRequestContent",
            "properties.storageProfile.osDisk.snapshot.name",
        ),
    ]
    compute.galleries.begin_create_or_update(RG_IMAGES, "g", {"location": "westeurope"}).result()
    for start, code, target in cases:
        with pytest.raises(HttpResponseError) as caught:
            start()
        assert (caught.value.status_code, caught.value.error.code) == (400, code)
        assert caught.value.error.target == target
    version = make_version(compute)
    body = pool_body(version.id)
    body["properties"]["deploymentConfiguration"]["virtualMachineConfiguration"]["nodeAgentSKU"] = (
        "typo"
    )
    with pytest.raises(HttpResponseError) as caught:
        batch.pool.create(RG_BATCH, ACCOUNT, "p", body)
    assert (caught.value.status_code, caught.value.error.code) == (400, "InvalidRequestBody")
    assert caught.value.error.target == (
        "properties.deploymentConfiguration.virtualMachineConfiguration.nodeAgentSKU"
    )


def test_unknown_member_in_a_list_item_names_its_index(compute):
    """A target region with an unknown member is refused with the region's index in the path."""
    make_version(compute)
    with pytest.raises(HttpResponseError) as caught:
        update_version(
            compute, {"targetRegions": [{"name": "westeurope"}, {"name": "eastus", "replicas": 2}]}
        )
    assert caught.value.error.target == "properties.publishingProfile.targetRegions[1].replicas"
    assert "type 'TargetRegion'" in caught.value.error.message


def test_read_only_members_sent_by_a_client_are_ignored(sandbox):
    """`id`, `name`, `provisioningState` and a gallery's `identifier.uniqueName` are dropped."""
    raw = json.dumps(
        {
            "id": "/elsewhere",
            "name": "other",
            "location": "westeurope",
            "properties": {
                "provisioningState": "Failed",
                "identifier": {"uniqueName": "mine"},
                "description": "kept",
            },
        }
    )
    answer = send(sandbox, "PUT", f"{COMPUTE}/galleries/g", "2026-03-03", raw)
    assert answer.status == 201
    gallery = answer.json()
    assert (gallery["id"], gallery["name"]) == (f"{COMPUTE}/galleries/g", "g")
    assert gallery["properties"]["description"] == "kept"
    assert gallery["properties"]["identifier"]["uniqueName"] == f"{SUB}-G"
    assert gallery["properties"]["provisioningState"] == "Creating"  # the service's, not ours


def test_locate_reports_line_and_position_past_the_colon():
    """Positions count as Json.NET does: the line, and the characters up to the member's colon."""
    text = '{\n  "a": [1, {"b": {}}],\n  "c": {"b": 2}\n}'
    assert _locate(text, ["c", "b"]) == (3, 12)
    assert _locate(text, ["a", 1, "b"]) == (2, 16)
    assert _locate(text, ["zzz"]) == (1, 0)
