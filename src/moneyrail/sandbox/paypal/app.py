"""The paypal sandbox as one ASGI app: the routes of `routes.py` and of the other parts."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from moneyrail.sandbox.paypal.billing import billing_routes
from moneyrail.sandbox.paypal.payments import payment_routes
from moneyrail.sandbox.paypal.routes import PayPalSandbox
from moneyrail.sandbox.paypal.webhooks import webhook_routes
from moneyrail.sandbox.paypal.wire import error
from moneyrail.sandbox.state import HOOK_PREFIX, FaultMiddleware, SandboxState, hook_routes


def create_app() -> Starlette:
    state = SandboxState()
    s = PayPalSandbox(state)
    e = s.endpoint
    order_minimal = ("id", "status", "links")
    routes = [
        Route("/v1/oauth2/token", s.token, methods=["POST"]),
        Route("/v2/checkout/orders", e(s.create_order, minimal=order_minimal), methods=["POST"]),
        Route("/v2/checkout/orders/{id}", e(s.get_order), methods=["GET"]),
        Route(
            "/v2/checkout/orders/{id}/capture",
            e(s.capture_order, minimal=order_minimal),
            methods=["POST"],
        ),
        Route(
            "/v2/checkout/orders/{id}/authorize",
            e(s.authorize_order, minimal=order_minimal),
            methods=["POST"],
        ),
        *payment_routes(s),
        *billing_routes(s),
        *webhook_routes(s),
        Route(f"{HOOK_PREFIX}/checkoutnow", s.hook_checkout, methods=["GET"]),
        *hook_routes(state),
    ]

    def unavailable() -> Response:
        return error(503).response()

    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, state=state, unavailable=unavailable)],
    )
