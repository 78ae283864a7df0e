"""The banking API under /api/v1: branches, customers, bank accounts, loans, reports."""

from __future__ import annotations

from fastapi import APIRouter

from moneyrail.banking import api_accounts, api_customers, api_loans

router = APIRouter()
router.include_router(api_customers.router)
router.include_router(api_accounts.router)
router.include_router(api_loans.router)
