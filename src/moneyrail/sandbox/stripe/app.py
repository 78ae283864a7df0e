"""The stripe sandbox as one ASGI app: the routes of `routes.py` and of the other parts."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from moneyrail.sandbox.state import FaultMiddleware, SandboxState, hook_routes
from moneyrail.sandbox.stripe.billing import billing_routes
from moneyrail.sandbox.stripe.hooks import stripe_hook_routes
from moneyrail.sandbox.stripe.refunds import refund_routes
from moneyrail.sandbox.stripe.routes import StripeSandbox
from moneyrail.sandbox.stripe.search import search_routes
from moneyrail.sandbox.stripe.wire import error


def create_app() -> Starlette:
    state = SandboxState()
    s = StripeSandbox(state)
    e = s.endpoint
    routes = [
        Route("/v1/payment_intents", e(s.create_intent), methods=["POST"]),
        *search_routes(s),
        Route("/v1/payment_intents/{id}", e(s.get_intent), methods=["GET"]),
        Route("/v1/payment_intents/{id}/confirm", e(s.confirm), methods=["POST"]),
        Route("/v1/payment_intents/{id}/capture", e(s.capture), methods=["POST"]),
        Route("/v1/payment_intents/{id}/cancel", e(s.cancel), methods=["POST"]),
        *refund_routes(s),
        *stripe_hook_routes(s),
        *billing_routes(s),
        *hook_routes(state),
    ]

    def unavailable() -> Response:
        return error(503, "Stripe is temporarily unavailable.", type_="api_error").response()

    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, state=state, unavailable=unavailable)],
    )
