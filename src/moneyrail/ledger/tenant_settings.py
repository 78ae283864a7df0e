"""A tenant's ledger options (`ledger_settings`) and the currency rule they drive.

Today one option: `precious_metals_enabled`, which lets the tenant open accounts in the
metals of ISO 4217 (XAU, XAG, XPT, XPD). Only new accounts are checked: switching metals off
leaves existing metal accounts working, so their balances can still be moved out.
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.money import is_precious_metal
from moneyrail.ledger.errors import CurrencyNotEnabled
from moneyrail.ledger.repository import repository
from moneyrail.ledger.schemas import LedgerSettingsOut

log = structlog.get_logger(__name__)


async def get(session: AsyncSession, *, tenant_id: str) -> LedgerSettingsOut:
    row = await repository.settings(session, tenant_id=tenant_id)
    if row is None:
        return LedgerSettingsOut(precious_metals_enabled=False)
    return LedgerSettingsOut(
        precious_metals_enabled=row.precious_metals_enabled, updated_at=row.updated_at
    )


async def update(
    session: AsyncSession, *, tenant_id: str, precious_metals_enabled: bool
) -> LedgerSettingsOut:
    row = await repository.save_settings(
        session, tenant_id=tenant_id, precious_metals_enabled=precious_metals_enabled
    )
    log.info(
        "ledger.settings_changed",
        tenant_id=tenant_id,
        precious_metals_enabled=precious_metals_enabled,
    )
    return LedgerSettingsOut(
        precious_metals_enabled=row.precious_metals_enabled, updated_at=row.updated_at
    )


async def check_currency(session: AsyncSession, *, tenant_id: str, currency: str) -> None:
    """Refuse a new account in a precious metal unless the tenant has enabled metals."""
    if not is_precious_metal(currency):
        return
    row = await repository.settings(session, tenant_id=tenant_id)
    if row is None or not row.precious_metals_enabled:
        raise CurrencyNotEnabled(
            f"{currency} is a precious metal; enable precious metals in the ledger settings"
            " (PUT /api/v1/ledger/settings) first"
        )
