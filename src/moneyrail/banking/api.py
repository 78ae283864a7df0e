"""The banking API under /api/v1: branches, customers, bank accounts, loans, reports, settings.

Each sub-domain has its own router; this module only gathers them into one.
"""

from __future__ import annotations

from fastapi import APIRouter

from moneyrail.banking.accounts import api as accounts_api
from moneyrail.banking.branches import api as branches_api
from moneyrail.banking.customers import api as customers_api
from moneyrail.banking.loans import api as loans_api
from moneyrail.banking.reports import api as reports_api
from moneyrail.banking.settings import api as settings_api

router = APIRouter()
for sub_router in (
    branches_api.router,
    customers_api.router,
    accounts_api.router,
    reports_api.router,
    loans_api.router,
    settings_api.router,
):
    router.include_router(sub_router)
