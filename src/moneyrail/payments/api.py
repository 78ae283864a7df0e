"""The unified payments API: one router made of the sub-domains' routers (payments,
refunds, verification, routing rules, subscriptions, provider credentials and inbound
provider webhooks)."""

from __future__ import annotations

from fastapi import APIRouter

from moneyrail.payments.credentials import api as credentials_api
from moneyrail.payments.intents import api as intents_api
from moneyrail.payments.reconcile import api as reconcile_api
from moneyrail.payments.refunds import api as refunds_api
from moneyrail.payments.routing import api as routing_api
from moneyrail.payments.subscriptions import api as subscriptions_api
from moneyrail.payments.webhooks import api as webhooks_api

router = APIRouter()
for part in (
    intents_api,
    reconcile_api,
    refunds_api,
    routing_api,
    subscriptions_api,
    credentials_api,
    webhooks_api,
):
    router.include_router(part.router)
