"""The merged OpenAPI document: every service's paths, collisions resolved, outages tolerated."""

from __future__ import annotations

import httpx
from conftest import OWNERS, Platform, Served, dead_url, settings

from marfiq_gateway.app import create_gateway_app
from marfiq_gateway.openapi import merge_openapi


async def test_merged_document_has_every_service_paths(platform: Platform) -> None:
    response = await platform.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert {"/v1/me", "/v1/correspondence", "/v1/complaints", "/v1/pensions/me"} <= set(
        document["paths"]
    )
    # Each service's /livez is its own business, not part of the public contract.
    assert "/livez" not in document["paths"]
    assert [tag["name"] for tag in document["tags"]] == list(OWNERS)
    schemas = document["components"]["schemas"]
    # Same name, different shapes: each service keeps its own, under its prefix.
    for owner in OWNERS:
        ref = document["paths"][_path(owner)]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{owner}.Item"
        assert f"{owner}_field" in schemas[f"{owner}.Item"]["properties"]
    assert "Item" not in schemas
    # Same name, same shape: kept once.
    assert "HTTPValidationError" in schemas
    assert not any(name.endswith(".HTTPValidationError") for name in schemas)
    operation = document["paths"]["/v1/me"]["get"]
    assert operation["security"] == [{"accessToken": []}]


async def test_docs_page_serves_swagger_ui(platform: Platform) -> None:
    response = await platform.client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    assert "/openapi.json" in response.text


async def test_services_that_are_down_are_left_out(platform: Platform) -> None:
    upstreams = {owner: dead_url() for owner in OWNERS}
    # Only identity answers: the gateway reuses the test platform's identity upstream.
    identity = (await platform.client.get("/v1/me", headers=platform.auth())).json()
    identity_url = "http://" + dict(identity["headers"])["host"]
    upstreams["identity"] = identity_url
    served = Served(
        create_gateway_app(settings(), upstreams=upstreams, jwks_fetcher=_no_keys), lifespan="on"
    )
    await served.start()
    try:
        async with httpx.AsyncClient(base_url=served.url) as client:
            response = await client.get("/openapi.json")
    finally:
        await served.stop()
    assert response.status_code == 200
    document = response.json()
    assert set(document["paths"]) == {"/v1/me"}
    assert document["x-unavailable-services"] == ["correspondence", "complaints", "pensions"]


def test_public_operations_say_no_token_is_needed() -> None:
    documents = {
        "complaints": {
            "paths": {
                "/v1/complaints/stats": {"get": {"responses": {}}},
                "/v1/complaints": {"get": {"responses": {}}, "post": {"responses": {}}},
            }
        }
    }
    merged = merge_openapi(
        documents,
        owner_of=lambda path: "complaints" if path.startswith("/v1/complaints") else None,
        is_public=lambda method, path: path == "/v1/complaints/stats",
    )
    assert merged["paths"]["/v1/complaints/stats"]["get"]["security"] == []
    assert merged["paths"]["/v1/complaints"]["post"]["security"] == [{"accessToken": []}]


def test_renames_follow_references_between_components() -> None:
    """`Page` is identical text in both services but points at a different `Item`."""

    def document(field: str) -> dict:  # type: ignore[type-arg]
        return {
            "paths": {},
            "components": {
                "schemas": {
                    "Page": {"properties": {"items": {"$ref": "#/components/schemas/Item"}}},
                    "Item": {"properties": {field: {"type": "string"}}},
                }
            },
        }

    merged = merge_openapi(
        {"complaints": document("a"), "pensions": document("b")},
        owner_of=lambda path: None,
        is_public=lambda method, path: False,
    )
    schemas = merged["components"]["schemas"]
    assert schemas["complaints.Page"]["properties"]["items"]["$ref"].endswith("complaints.Item")
    assert schemas["pensions.Page"]["properties"]["items"]["$ref"].endswith("pensions.Item")


def _path(owner: str) -> str:
    return {
        "identity": "/v1/me",
        "correspondence": "/v1/correspondence",
        "complaints": "/v1/complaints",
        "pensions": "/v1/pensions/me",
    }[owner]


async def _no_keys() -> dict:  # type: ignore[type-arg]
    return {"keys": []}
