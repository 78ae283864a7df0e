"""Every route needs credentials unless it is on the public list below; viewers cannot
write; one tenant never reaches another tenant's objects. Generic over `app.routes` and
the OpenAPI document, so routes added later are checked too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.deps import authenticate
from moneyrail.auth.roles import Role
from tests.conftest import problem
from tests.factories import add_api_key, add_client, add_user, make_tenant

API = "/api/v1"
# Reachable without credentials, each with the reason.
PUBLIC: dict[tuple[str, str], str] = {
    ("POST", f"{API}/auth/signup"): "creates the account whose credentials follow",
    ("POST", f"{API}/auth/token"): "OAuth2 token endpoint: the grant carries the credential",
    ("POST", f"{API}/auth/signin"): "password sign-in",
    ("POST", f"{API}/auth/request-otp"): "OTP: answers 202 whoever asks",
    ("POST", f"{API}/auth/otp-login"): "OTP sign-in",
    ("POST", f"{API}/auth/refresh"): "the refresh token in the body is the credential",
    ("POST", f"{API}/auth/logout"): "the refresh token in the body is the credential",
    ("POST", f"{API}/auth/revoke"): "RFC 7009: holding a token is enough to revoke it",
    ("GET", f"{API}/.well-known/jwks.json"): "public keys that verify access tokens",
    ("POST", f"{API}/webhooks/{{provider}}"): "inbound payment-provider webhooks: signed",
    ("GET", f"{API}/health"): "health probe",
    ("GET", f"{API}/monitoring/health/live"): "liveness probe",
    ("GET", f"{API}/monitoring/health/ready"): "readiness probe",
    ("GET", f"{API}/monitoring/health/detailed"): "health probe (no tenant data)",
    ("GET", f"{API}/monitoring/metrics"): "Prometheus scraper (no tenant data)",
    ("GET", "/metrics"): "Prometheus scraper (no tenant data)",
    ("GET", "/openapi.json"): "docs",
    ("GET", "/docs"): "docs",
    ("GET", "/docs/oauth2-redirect"): "docs",
    ("GET", "/redoc"): "docs",
}
# Authenticated inside the handler rather than by a dependency.
CHECKED_IN_HANDLER = {
    ("POST", f"{API}/auth/introspect"): "RFC 7662: client (HTTP Basic) or bearer credentials",
}
# Inbound provider webhooks authenticate by the provider's signature, not by our credentials.
SIGNED_BY_PROVIDER = re.compile(
    r"^/api/v1/(webhooks/providers/|(payments|bills|trading|messaging)/.*inbound)"
)
PROFILE_SCOPES = {"profile:read", "profile:write"}
FAKE_ID = "zzz_01AAAAAAAAAAAAAAAAAAAAAAAA"


@dataclass(frozen=True)
class Route:
    path: str
    methods: frozenset[str]
    dependant: Dependant
    openapi_extra: dict[str, Any] | None


def _api_routes(app: FastAPI) -> list[Route]:
    """Every API route with its effective path and dependencies (through included routers)."""
    found = []
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if isinstance(dependant, Dependant) and context.path and context.methods:
            extra = getattr(context, "openapi_extra", None)
            path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", context.path)
            found.append(Route(path, frozenset(context.methods), dependant, extra))
    return found


def _public_marker(route: Route) -> bool:
    extra = route.openapi_extra or {}
    return bool(extra.get("x-public"))


def _is_public(method: str, path: str, route: Route | None = None) -> bool:
    if (method, path) in PUBLIC or SIGNED_BY_PROVIDER.match(path):
        return True
    return route is not None and _public_marker(route)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _required_scopes(dependant: Dependant) -> set[str]:
    """The scopes demanded by `require(scope=...)` dependencies of a route."""
    scopes = set()
    for call in _calls(dependant):
        closure = getattr(call, "__closure__", None) or ()
        names = getattr(getattr(call, "__code__", None), "co_freevars", ())
        values = dict(zip(names, (cell.cell_contents for cell in closure), strict=False))
        if isinstance(values.get("scope"), str):
            scopes.add(values["scope"])
    return scopes


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", FAKE_ID, path)


def test_every_route_declares_authentication(app: FastAPI) -> None:
    missing = []
    for route in _api_routes(app):
        for method in route.methods:
            if _is_public(method, route.path, route) or (method, route.path) in CHECKED_IN_HANDLER:
                continue
            if authenticate not in set(_calls(route.dependant)):
                missing.append(f"{method} {route.path}")
    assert not missing, f"routes without an authentication dependency: {missing}"


async def test_no_route_answers_without_credentials(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    schema = app.openapi()
    routes = {(m, r.path): r for r in _api_routes(app) for m in r.methods}
    checked = 0
    for path, operations in schema["paths"].items():
        for method in operations:
            method = method.upper()
            if method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            if _is_public(method, path, routes.get((method, path))):
                continue
            url = "http://testserver" + _concrete(path)
            for headers in (
                {},
                {"X-API-Key": "mr_test_" + "A" * 40},
                {"Authorization": "Bearer x.y.z"},
            ):
                response = await client.request(
                    method,
                    url,
                    headers={**headers, "Idempotency-Key": "route-walk"},
                    json={} if method != "GET" else None,
                )
                assert response.status_code == 401, (method, path, headers, response.text)
            checked += 1
    assert checked >= 10


async def test_viewer_gets_403_on_every_write(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    viewer = await add_api_key(session, tenant, role=Role.viewer)
    checked = []
    for route in _api_routes(app):
        for method in route.methods - {"GET", "HEAD", "OPTIONS"}:
            if _is_public(method, route.path, route) or (method, route.path) in CHECKED_IN_HANDLER:
                continue
            scopes = _required_scopes(route.dependant)
            if not scopes or scopes <= PROFILE_SCOPES or all(s.endswith(":read") for s in scopes):
                continue  # no write permission declared: readers may call it by design
            response = await client.request(
                method,
                "http://testserver" + _concrete(route.path),
                headers={**viewer.headers, "Idempotency-Key": "viewer-walk"},
                json={},
            )
            assert response.status_code == 403, (method, route.path, response.text)
            checked.append(f"{method} {route.path}")
    assert (
        f"POST {API}/api-keys" in checked and f"PATCH {API}/admin/users/{{user_id}}/role" in checked
    )


# Identity and admin routes that take an id, with how tenant A's object is made.
ID_ROUTES = {
    ("DELETE", f"{API}/api-keys/{{key_id}}"),
    ("PUT", f"{API}/admin/clients/{{client_id}}"),
    ("POST", f"{API}/admin/clients/{{client_id}}/api-keys"),
    ("PATCH", f"{API}/admin/users/{{user_id}}/role"),
    ("PATCH", f"{API}/admin/users/{{user_id}}/status"),
}


def test_id_routes_of_identity_and_admin_are_all_covered(app: FastAPI) -> None:
    found = {
        (method, route.path)
        for route in _api_routes(app)
        for method in route.methods
        if "{" in route.path
        and route.path.startswith(
            (f"{API}/api-keys", f"{API}/admin/clients", f"{API}/admin/users", f"{API}/auth")
        )
    }
    assert found == ID_ROUTES


async def test_tenant_b_gets_404_for_tenant_a_objects(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant_a = await make_tenant(session)
    key_a = await add_api_key(session, tenant_a, role=Role.viewer)
    client_a, _ = await add_client(session, tenant_a)
    user_a = await add_user(session, tenant_a)
    tenant_b = await make_tenant(session)
    user_b = await add_user(session, tenant_b, role=Role.owner)
    tokens_b = (
        await client.post(
            "/auth/signin", data={"username": user_b.email, "password": user_b.password}
        )
    ).json()
    objects = {"key_id": key_a.api_key_id, "client_id": client_a, "user_id": user_a.user_id}
    bodies = {
        ("PUT", f"{API}/admin/clients/{{client_id}}"): {"name": "stolen"},
        ("POST", f"{API}/admin/clients/{{client_id}}/api-keys"): {"name": "stolen"},
        ("PATCH", f"{API}/admin/users/{{user_id}}/role"): {"role": "viewer"},
        ("PATCH", f"{API}/admin/users/{{user_id}}/status"): {"status": "disabled"},
    }
    calls = [
        (method, template.removeprefix(API).format(**objects), bodies.get((method, template)))
        for method, template in sorted(ID_ROUTES)
    ]
    for credentials in (tenant_b.headers, {"Authorization": f"Bearer {tokens_b['access_token']}"}):
        for method, path, body in calls:
            response = await client.request(method, path, json=body, headers=credentials)
            problem(response, 404)
    # Tenant A still sees its objects untouched.
    keys = (await client.get("/api-keys", headers=tenant_a.headers)).json()["data"]
    assert all(k["revoked_at"] is None for k in keys)
    clients = (await client.get("/admin/clients", headers=tenant_a.headers)).json()["data"]
    assert clients[0]["name"] == "test client"
    listed_b = (await client.get("/admin/users", headers=tenant_b.headers)).json()["data"]
    assert [u["id"] for u in listed_b] == [user_b.user_id]


@pytest.mark.parametrize("role", [Role.owner])
async def test_unknown_ids_answer_404_everywhere(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, role: Role
) -> None:
    """Every GET route taking one id answers 404 (never 200 or 5xx) for an id it does not own."""
    tenant = await make_tenant(session, role=role)
    for route in _api_routes(app):
        if "GET" not in route.methods or route.path.count("{") != 1:
            continue
        if _is_public("GET", route.path, route):
            continue
        response = await client.get(
            "http://testserver" + _concrete(route.path), headers=tenant.headers
        )
        assert response.status_code in (404, 422), (route.path, response.text)
