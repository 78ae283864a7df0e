"""Access tokens: a third-party OAuth2 client, PyJWT as the verifier, and forged tokens."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.auth.roles import Role
from moneyrail.core.settings import Settings
from moneyrail.identity.tokens.config import AuthSettings, auth_config, build_auth_config
from moneyrail.identity.tokens.service import InvalidToken, decode_access_token, issue_access_token
from tests.conftest import problem
from tests.factories import add_client, add_user, make_tenant


async def test_authlib_client_credentials_then_me(
    app: FastAPI, settings: Settings, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    client_id, client_secret = await add_client(
        session, tenant, role=Role.operator, scopes=["ledger:read", "profile:read"]
    )
    async with AsyncOAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        transport=httpx.ASGITransport(app=app),
        base_url="http://testserver",
    ) as oauth:
        token = await oauth.fetch_token(
            "http://testserver/api/v1/auth/token", grant_type="client_credentials"
        )
        assert "refresh_token" not in token
        assert token["token_type"].lower() == "bearer"
        me = await oauth.get("/api/v1/auth/me")
    assert me.status_code == 200, me.text
    assert me.json()["actor_type"] == "client" and me.json()["id"] == client_id
    assert me.json()["tenant_id"] == tenant.tenant_id

    # An independent verifier: PyJWT with the configured key, audience and issuer.
    config = auth_config(settings)
    header = jwt.get_unverified_header(token["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "HS256"
    claims = jwt.decode(
        token["access_token"],
        config.verification_keys[header["kid"]],
        algorithms=["HS256"],
        audience=config.audience,
        issuer=config.issuer,
        options={"require": ["exp", "iat", "sub", "jti", "iss", "aud"]},
    )
    assert claims["sub"] == client_id and claims["client_id"] == client_id
    assert claims["tenant"] == tenant.tenant_id and claims["role"] == "operator"
    assert set(claims["scope"].split()) == {"ledger:read", "profile:read"}
    assert claims["exp"] - claims["iat"] == config.access_ttl.total_seconds()


async def test_client_auth_in_form_and_scope_narrowing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    client_id, client_secret = await add_client(session, tenant, scopes=["ledger:read"])
    ok = await client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "scope": "ledger:read",
        },
    )
    assert ok.status_code == 200 and ok.json()["scope"] == "ledger:read"
    wider = await client.post(
        "/auth/token",
        data={"grant_type": "client_credentials", "scope": "ledger:write"},
        auth=(client_id, client_secret),
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    wrong = await client.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "mrcs_nope")
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic")
    assert wrong.headers["cache-control"] == "no-store"
    # The seed's clients send their id and secret as username and password.
    seed = await client.post(
        "/auth/signin", data={"username": client_id, "password": client_secret}
    )
    assert seed.status_code == 200 and "refresh_token" not in seed.json()


def _claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    config = auth_config(settings)
    now = int(time.time())
    claims = {
        "iss": config.issuer,
        "aud": config.audience,
        "sub": "usr_x",
        "tenant": "ten_x",
        "role": "owner",
        "scope": "ledger:read",
        "act": "user",
        "iat": now,
        "exp": now + 300,
        "jti": "j1",
    }
    claims.update(overrides)
    return claims


def _sign(settings: Settings, claims: dict[str, Any], *, key: Any = None, **header: Any) -> str:
    config = auth_config(settings)
    headers = {"kid": config.signing_kid, "typ": "at+jwt", **header}
    return jwt.encode(claims, key or config.signing_key, algorithm="HS256", headers=headers)


async def test_forged_tokens_are_401(
    client: httpx.AsyncClient, settings: Settings, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    good = _sign(settings, _claims(settings, sub=user.user_id, tenant=tenant.tenant_id))
    assert (
        await client.get("/auth/verify", headers={"Authorization": f"Bearer {good}"})
    ).status_code == 200

    config = auth_config(settings)
    unsigned = jwt.encode(
        _claims(settings),
        None,
        algorithm="none",
        headers={"kid": config.signing_kid, "typ": "at+jwt"},
    )
    attacks = {
        "alg none": unsigned,
        "alg none, no signature": unsigned.rsplit(".", 1)[0] + ".",
        "another key": _sign(settings, _claims(settings), key=b"k" * 32),
        "unknown kid": _sign(settings, _claims(settings), kid="other"),
        "wrong audience": _sign(settings, _claims(settings, aud="someone-else")),
        "wrong issuer": _sign(settings, _claims(settings, iss="https://evil.example")),
        "expired": _sign(
            settings, _claims(settings, iat=int(time.time()) - 4000, exp=int(time.time()) - 3600)
        ),
        "not an access token": _sign(settings, _claims(settings), typ="JWT"),
        "missing tenant": _sign(settings, _claims(settings, tenant=None)),
        "tampered payload": good[: good.index(".") + 5] + "A" + good[good.index(".") + 6 :],
        "garbage": "not-a-jwt",
    }
    for name, token in attacks.items():
        response = await client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (name, response.text)
        problem(response, 401)


async def test_refresh_token_used_twice_is_401(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    user = await add_user(session, tenant)
    tokens = (
        await client.post("/auth/signin", data={"username": user.email, "password": user.password})
    ).json()
    assert (
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 200
    problem(
        await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}), 401
    )


def test_scopes_are_capped_by_the_role(settings: Settings) -> None:
    config = auth_config(settings)
    issued = issue_access_token(
        config,
        subject_id="usr_v",
        actor_type="user",
        tenant_id="ten_v",
        role=Role.viewer,
        scopes=["ledger:read", "ledger:write", "admin:write"],
    )
    from moneyrail.identity.tokens.service import subject_from_claims

    subject = subject_from_claims(decode_access_token(config, issued.token))
    assert subject.scopes == frozenset({"ledger:read"})


def test_hs256_key_rotation(settings: Settings) -> None:
    old = build_auth_config(settings, AuthSettings(jwt_keys="2025:" + "a" * 40))
    rotated = build_auth_config(settings, AuthSettings(jwt_keys=f"2026:{'b' * 40},2025:{'a' * 40}"))
    assert rotated.signing_kid == "2026"
    previous = issue_access_token(
        old, subject_id="usr_a", actor_type="user", tenant_id="ten_a", role=Role.viewer, scopes=[]
    )
    assert decode_access_token(rotated, previous.token)["sub"] == "usr_a"
    retired = build_auth_config(settings, AuthSettings(jwt_keys="2026:" + "b" * 40))
    with pytest.raises(InvalidToken):
        decode_access_token(retired, previous.token)


def _hs256_by_hand(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    import base64
    import hashlib
    import hmac
    import json

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_rs256_with_jwks(settings: Settings, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    rs_settings = settings.model_copy(update={"data_dir": tmp_path})
    config = build_auth_config(rs_settings, AuthSettings(jwt_algorithm="RS256"))
    issued = issue_access_token(
        config, subject_id="usr_r", actor_type="user", tenant_id="ten_r", role=Role.admin, scopes=[]
    )
    [jwk] = config.public_jwks
    assert jwk["kid"] == jwt.get_unverified_header(issued.token)["kid"] and "d" not in jwk
    public = jwt.PyJWK(jwk)
    claims = jwt.decode(
        issued.token,
        public.key,
        algorithms=["RS256"],
        audience=config.audience,
        issuer=config.issuer,
    )
    assert claims["sub"] == "usr_r"
    # Algorithm confusion: an HS256 token keyed with the public key must not pass.
    pem = public.key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = _hs256_by_hand(
        {"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]}, {**claims, "sub": "usr_evil"}, pem
    )
    with pytest.raises(InvalidToken):
        decode_access_token(config, forged)
    # The generated key is kept in DATA_DIR, so every process signs with the same one.
    again = build_auth_config(rs_settings, AuthSettings(jwt_algorithm="RS256"))
    assert again.signing_kid == config.signing_kid
