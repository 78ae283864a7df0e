from __future__ import annotations

import httpx
import pytest

from moneyrail.messaging.templates import (
    TemplateInvalid,
    TemplateVariableMissing,
    render,
    variables_of,
)
from tests.conftest import problem
from tests.factories import make_tenant


def test_render_and_variables() -> None:
    assert variables_of("Hi {{ name }}", "<b>{{code}}</b> {{name}}") == ["name", "code"]
    assert render("Hi {{ name }}", {"name": "Asha"}) == "Hi Asha"
    assert render("<b>{{ v }}</b>", {"v": "<x>"}, escape=True) == "<b>&lt;x&gt;</b>"
    with pytest.raises(TemplateVariableMissing) as missing:
        render("Code {{ code }}", {})
    assert missing.value.extra == {"variable": "code"}
    with pytest.raises(TemplateInvalid):
        variables_of("broken {{ name")


async def test_templates_api_and_render_error_names_the_variable(
    client: httpx.AsyncClient, session
) -> None:
    tenant = await make_tenant(session)
    created = await client.post(
        "/templates",
        json={"name": "otp", "channel": "sms", "text": "Your code is {{ code }} for {{ app }}"},
        headers=tenant.headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["variables"] == ["code", "app"]
    duplicate = await client.post(
        "/templates", json={"name": "otp", "channel": "sms", "text": "x"}, headers=tenant.headers
    )
    problem(duplicate, 409, "template_exists")
    listed = await client.get("/templates", headers=tenant.headers)
    assert [t["name"] for t in listed.json()["data"]] == ["otp"]

    missing = await client.post(
        "/sms",
        json={"to": "+919812345678", "template": "otp", "variables": {"code": "123456"}},
        headers=tenant.headers,
    )
    body = problem(missing, 422, "template_variable_missing")
    assert "app" in body["detail"]

    queued = await client.post(
        "/sms",
        json={"to": "+919812345678", "template": "otp", "variables": {"code": "1", "app": "A"}},
        headers=tenant.headers,
    )
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "queued"
    problem(
        await client.post(
            "/email",
            json={"to": "a@example.com", "template": "otp", "variables": {}},
            headers=tenant.headers,
        ),
        422,
        "template_channel_mismatch",
    )


async def test_sms_is_queued_not_sent_inline(client: httpx.AsyncClient, session) -> None:
    tenant = await make_tenant(session)
    queued = await client.post(
        "/sms", json={"to": "+919812345678", "body": "hello"}, headers=tenant.with_idempotency("k1")
    )
    assert queued.status_code == 202
    message = queued.json()
    assert message["status"] == "queued" and message["provider_message_id"] is None
    replay = await client.post(
        "/sms", json={"to": "+919812345678", "body": "hello"}, headers=tenant.with_idempotency("k1")
    )
    assert replay.json()["id"] == message["id"]
    fetched = await client.get(f"/sms/{message['id']}", headers=tenant.headers)
    assert fetched.json()["status"] == "queued"
    problem(await client.get(f"/email/{message['id']}", headers=tenant.headers), 404)
    problem(
        await client.post("/sms", json={"to": "12345", "body": "x"}, headers=tenant.headers), 422
    )
