"""The API reads bodies as JSON whatever curl says the content type is."""

from __future__ import annotations

from tests.conftest import Tenant


async def test_body_without_json_content_type_is_read_as_json(tenant: Tenant) -> None:
    for headers in ({}, {"Content-Type": "application/x-www-form-urlencoded"}):
        r = await tenant.call(
            "POST", "/v1.0/outdials", content=b'{"name": "plain"}', headers=headers
        )
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "plain"
    r = await tenant.call(
        "POST",
        "/v1.0/outdials",
        content=b"name=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == "INVALID_JSON_BODY"
