"""Currencies: current ISO 4217 legal tender everywhere; the precious metals only in the
ledger, and only for a tenant that has enabled them in its ledger settings."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.models import AuditLog
from moneyrail.auth.roles import Role
from moneyrail.core.db import bypass_tenant_scope
from moneyrail.core.money import (
    PRECIOUS_METALS,
    Currency,
    CurrencyCode,
    LedgerCurrency,
    LedgerCurrencyCode,
    Money,
    UnknownCurrency,
    exponent,
)
from moneyrail.ledger.errors import CurrencyNotEnabled
from moneyrail.ledger.service import ledger
from moneyrail.ledger.types import AccountKind
from tests.conftest import problem
from tests.factories import TenantContext, add_api_key, make_tenant
from tests.payments.helpers import payment_body

METALS = ("XAU", "XAG", "XPT", "XPD")
NOT_CURRENCIES = ("XXX", "XTS", "XDR", "XBA", "XBB", "XBC", "XBD", "XSU", "XUA", "XAD")
# Historical codes and ISO 4217 funds codes: not legal tender today.
NOT_CURRENT = ("DEM", "FRF", "ANG", "SLL", "VEF", "HRK", "BOV", "CHE", "CHW", "CLF", "USN")


def _account_body(currency: str) -> dict[str, Any]:
    return {
        "code": f"acct:{uuid.uuid4().hex[:8]}",
        "name": "Metal vault",
        "currency": currency,
        "kind": "asset",
        "balance_limit": {"type": "none"},
    }


async def _open(client: httpx.AsyncClient, tenant: TenantContext, currency: str) -> httpx.Response:
    return await client.post(
        "/ledger/accounts", json=_account_body(currency), headers=tenant.headers
    )


# --- the lists ----------------------------------------------------------------------------------


def test_currency_is_legal_tender_and_the_ledger_adds_only_the_metals() -> None:
    currencies = {member.value for member in Currency}
    ledger_currencies = {member.value for member in LedgerCurrency}
    assert ledger_currencies == currencies | PRECIOUS_METALS
    assert set(METALS) == PRECIOUS_METALS
    assert not currencies & (set(METALS) | set(NOT_CURRENCIES) | set(NOT_CURRENT))
    assert not ledger_currencies & (set(NOT_CURRENCIES) | set(NOT_CURRENT))
    # Real currencies with X-codes stay; so do the usual ones, with their ISO exponents.
    assert {"XAF", "XOF", "XCD", "XPF", "INR", "USD", "EUR", "JPY", "KWD"} <= currencies
    assert (exponent("INR"), exponent("JPY"), exponent("KWD"), exponent("CLP")) == (2, 0, 3, 0)
    assert all(exponent(metal) == 3 for metal in METALS)
    assert Money.parse("1.250", "XAU") == Money(1_250, "XAU")
    for bad in NOT_CURRENCIES + NOT_CURRENT:
        with pytest.raises(UnknownCurrency):
            Money(0, bad)


def test_the_shared_type_refuses_metals_and_x_codes_the_ledger_type_only_x_codes() -> None:
    shared: TypeAdapter[str] = TypeAdapter(CurrencyCode)
    ledger_type: TypeAdapter[str] = TypeAdapter(LedgerCurrencyCode)
    for code in METALS + NOT_CURRENCIES:
        with pytest.raises(ValidationError):
            shared.validate_python(code)
    for code in NOT_CURRENCIES + NOT_CURRENT:
        with pytest.raises(ValidationError):
            ledger_type.validate_python(code)
    assert ledger_type.validate_python("xau") == "XAU"


async def test_the_document_lists_exactly_the_accepted_codes(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert set(schemas["Currency"]["enum"]) == {member.value for member in Currency}
    assert set(schemas["LedgerCurrency"]["enum"]) == {member.value for member in LedgerCurrency}
    account_currency = schemas["AccountCreate"]["properties"]["currency"]
    assert account_currency["$ref"] == "#/components/schemas/LedgerCurrency"
    settings_operation = app.openapi()["paths"]["/api/v1/ledger/settings"]["put"]
    assert "precious_metals_enabled" in settings_operation["description"]


# --- the ledger ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["XXX", "XTS", "XDR", "xxx", "DEM"])
async def test_non_currencies_are_validation_errors_in_the_ledger(
    client: httpx.AsyncClient, session: AsyncSession, code: str
) -> None:
    tenant = await make_tenant(session)
    problem(await _open(client, tenant, code), 422, "validation_error")
    vault = (await _open(client, tenant, "INR")).json()
    other = (await _open(client, tenant, "INR")).json()
    transfer = await client.post(
        "/ledger/transfers",
        json={
            "id": uuid.uuid4().hex,
            "debit_account_id": vault["id"],
            "credit_account_id": other["id"],
            "amount": {"amount": 1, "currency": code},
        },
        headers=tenant.headers,
    )
    problem(transfer, 422, "validation_error")
    report = await client.get(
        "/ledger/reports/trial-balance", params={"currency": code}, headers=tenant.headers
    )
    problem(report, 422, "validation_error")


async def test_metal_accounts_need_the_tenant_setting(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    tenant = await make_tenant(session)
    settings = await client.get("/ledger/settings", headers=tenant.headers)
    assert settings.status_code == 200, settings.text
    assert settings.json() == {"precious_metals_enabled": False, "updated_at": None}
    for metal in METALS:
        body = problem(await _open(client, tenant, metal), 422, "currency_not_enabled")
        assert metal in body["detail"]

    enabled = await client.put(
        "/ledger/settings", json={"precious_metals_enabled": True}, headers=tenant.headers
    )
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["precious_metals_enabled"] is True
    assert enabled.json()["updated_at"] is not None
    got = (await client.get("/ledger/settings", headers=tenant.headers)).json()
    assert got == enabled.json()

    opened = await _open(client, tenant, "xau")
    assert opened.status_code == 201, opened.text
    assert opened.json()["currency"] == "XAU"
    customer = await client.post(
        "/ledger/accounts",
        json={
            **_account_body("XAU"),
            "kind": "liability",
            "balance_limit": {"type": "non_negative"},
        },
        headers=tenant.headers,
    )
    assert customer.status_code == 201, customer.text
    moved = await client.post(
        "/ledger/transfers",
        json={
            "id": uuid.uuid4().hex,
            "debit_account_id": opened.json()["id"],
            "credit_account_id": customer.json()["id"],
            "amount": {"amount": 1_250, "currency": "XAU"},  # 1.250 troy ounces
        },
        headers=tenant.headers,
    )
    assert moved.status_code == 201, moved.text
    assert moved.json()["amount"] == {"amount": 1_250, "currency": "XAU"}
    account = (
        await client.get(f"/ledger/accounts/{customer.json()['id']}", headers=tenant.headers)
    ).json()
    assert account["posted"] == 1_250 and account["balances"]["currency"] == "XAU"
    report = await client.get(
        "/ledger/reports/trial-balance", params={"currency": "XAU"}, headers=tenant.headers
    )
    assert report.status_code == 200 and report.json()["balanced"] is True

    # Off again: no new metal accounts; the open ones keep working.
    disabled = await client.put(
        "/ledger/settings", json={"precious_metals_enabled": False}, headers=tenant.headers
    )
    assert disabled.json()["precious_metals_enabled"] is False
    problem(await _open(client, tenant, "XAG"), 422, "currency_not_enabled")
    back = await client.post(
        "/ledger/transfers",
        json={
            "id": uuid.uuid4().hex,
            "debit_account_id": customer.json()["id"],
            "credit_account_id": opened.json()["id"],
            "amount": {"amount": 250, "currency": "XAU"},
        },
        headers=tenant.headers,
    )
    assert back.status_code == 201, back.text

    await bypass_tenant_scope(session)
    actions = (
        await session.scalars(
            select(AuditLog.action).where(
                AuditLog.tenant_id == tenant.tenant_id,
                AuditLog.action == "ledger.settings.updated",
            )
        )
    ).all()
    assert len(actions) == 2


async def test_settings_are_per_tenant_and_need_ledger_admin(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    first = await make_tenant(session)
    second = await make_tenant(session)
    enabled = await client.put(
        "/ledger/settings", json={"precious_metals_enabled": True}, headers=first.headers
    )
    assert enabled.status_code == 200, enabled.text
    assert (await _open(client, first, "XPT")).status_code == 201
    problem(await _open(client, second, "XPT"), 422, "currency_not_enabled")
    other = (await client.get("/ledger/settings", headers=second.headers)).json()
    assert other["precious_metals_enabled"] is False

    operator = await add_api_key(session, first, role=Role.operator)
    problem(await client.get("/ledger/settings", headers=operator.headers), 403)
    problem(
        await client.put(
            "/ledger/settings", json={"precious_metals_enabled": False}, headers=operator.headers
        ),
        403,
    )
    for bad in ({}, {"precious_metals_enabled": True, "other": 1}):
        problem(
            await client.put("/ledger/settings", json=bad, headers=first.headers),
            422,
            "validation_error",
        )


async def test_system_accounts_in_a_metal_need_the_setting_too(session: AsyncSession) -> None:
    tenant = await make_tenant(session)
    with pytest.raises(CurrencyNotEnabled):
        await ledger.system_account(
            session,
            tenant_id=tenant.tenant_id,
            code="cash:vault:XPD",
            name="Vault",
            currency="XPD",
            kind=AccountKind.asset,
        )
    await ledger.update_settings(session, tenant_id=tenant.tenant_id, precious_metals_enabled=True)
    vault = await ledger.system_account(
        session,
        tenant_id=tenant.tenant_id,
        code="cash:vault:XPD",
        name="Vault",
        currency="XPD",
        kind=AccountKind.asset,
    )
    assert vault.currency == "XPD"


# --- other domains ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [*METALS, "XXX", "XTS", "XDR"])
async def test_payments_refuse_metals_and_x_codes(
    client: httpx.AsyncClient, session: AsyncSession, code: str
) -> None:
    tenant = await make_tenant(session)
    # Even with metals enabled for the ledger: payments take legal tender only.
    await ledger.update_settings(session, tenant_id=tenant.tenant_id, precious_metals_enabled=True)
    body = payment_body("stripe")
    body["amount"] = {"amount": 10_000, "currency": code}
    response = await client.post("/payments", json=body, headers=tenant.with_idempotency())
    problem(response, 422, "validation_error")


@pytest.mark.parametrize("code", [*METALS, "XXX", "XTS", "XDR"])
async def test_banking_refuses_metals_and_x_codes(
    client: httpx.AsyncClient, session: AsyncSession, code: str
) -> None:
    tenant = await make_tenant(session)
    await ledger.update_settings(session, tenant_id=tenant.tenant_id, precious_metals_enabled=True)
    customer = await client.post(
        "/customers",
        json={
            "first_name": "Asha",
            "last_name": "Verma",
            "email": f"asha.{uuid.uuid4().hex[:8]}@example.com",
            "phone": "+919812345678",
        },
        headers=tenant.headers,
    )
    assert customer.status_code == 201, customer.text
    opened = await client.post(
        "/accounts",
        json={
            "customer_id": customer.json()["id"],
            "account_type": "SAVINGS",
            "currency": code,
            "initial_deposit": {"amount": 1_000, "currency": code},
        },
        headers=tenant.with_idempotency(),
    )
    problem(opened, 422, "validation_error")
