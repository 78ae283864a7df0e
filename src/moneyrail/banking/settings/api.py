"""A tenant's banking settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from moneyrail.banking.auth import BankingAdmin, BankingRead
from moneyrail.banking.settings import schemas
from moneyrail.banking.settings.service import bank_settings
from moneyrail.core.db import SessionDep
from moneyrail.core.errors import problem_responses
from moneyrail.core.idempotency import IdempotentRoute
from moneyrail.core.pagination import PageParams, page_params

router = APIRouter(tags=["banking"], route_class=IdempotentRoute)
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/banking/settings", response_model=schemas.BankSettingsOut)
async def get_settings(subject: BankingRead, session: SessionDep) -> Any:
    """The tenant's banking settings: the annual savings interest rate (or its default)."""
    return await bank_settings.settings(session, tenant_id=subject.tenant_id)


@router.put(
    "/banking/settings", response_model=schemas.BankSettingsOut, responses=problem_responses(422)
)
async def update_settings(
    body: schemas.BankSettingsIn, subject: BankingAdmin, session: SessionDep
) -> Any:
    """Set the tenant's annual savings interest rate, used from the next daily accrual on. No money
    moves; the change is audited.
    """
    return await bank_settings.update_settings(session, subject=subject, data=body)
