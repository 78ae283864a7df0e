"""The razorpay sandbox as one ASGI app: the routes of `routes.py` and of the other parts."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import Route

from moneyrail.sandbox.razorpay.hooks import checkout_hook_routes
from moneyrail.sandbox.razorpay.routes import RazorpaySandbox, error
from moneyrail.sandbox.razorpay.subscriptions import subscription_routes
from moneyrail.sandbox.state import FaultMiddleware, SandboxState, hook_routes


def create_app() -> Starlette:
    state = SandboxState()
    s = RazorpaySandbox(state)
    e = s.endpoint
    routes = [
        Route("/v1/orders", e(s.create_order), methods=["POST"]),
        Route("/v1/orders", e(s.list_orders), methods=["GET"]),
        Route("/v1/orders/{id}", e(s.get_order), methods=["GET"]),
        Route("/v1/orders/{id}/payments", e(s.order_payments), methods=["GET"]),
        Route("/v1/payments/{id}", e(s.get_payment), methods=["GET"]),
        Route("/v1/payments/{id}/capture", e(s.capture), methods=["POST"]),
        Route("/v1/payments/{id}/refund", e(s.refund), methods=["POST"]),
        Route("/v1/refunds/{id}", e(s.get_refund), methods=["GET"]),
        *subscription_routes(s),
        *checkout_hook_routes(s),
        *hook_routes(state),
    ]

    def unavailable() -> Response:
        return error(
            503, "The server is currently unable to handle the request.", code="SERVER_ERROR"
        ).response()

    return Starlette(
        routes=routes,
        middleware=[Middleware(FaultMiddleware, state=state, unavailable=unavailable)],
    )
