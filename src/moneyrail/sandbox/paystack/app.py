"""The paystack sandbox as one ASGI app: the routes of `routes.py` and of the other parts."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from moneyrail.sandbox.http import bearer_api, sandbox_app
from moneyrail.sandbox.paystack.routes import _KEY, PaystackSandbox, TrailingSlashMiddleware, fail
from moneyrail.sandbox.paystack.subscriptions import subscription_routes
from moneyrail.sandbox.state import HOOK_PREFIX


def create_app() -> Starlette:
    sandbox = PaystackSandbox()
    api = bearer_api(_KEY, lambda _key: fail(401, "Invalid key"))
    routes = [
        Route("/transaction/initialize", api(sandbox.initialize), methods=["POST"]),
        Route("/transaction/verify/{reference}", api(sandbox.verify), methods=["GET"]),
        Route("/transaction/{id}", api(sandbox.fetch), methods=["GET"]),
        Route("/refund", api(sandbox.create_refund), methods=["POST"]),
        Route("/refund/{id}", api(sandbox.fetch_refund), methods=["GET"]),
        *subscription_routes(sandbox, api),
        Route(
            f"{HOOK_PREFIX}/checkout/{{access_code}}",
            sandbox.checkout,
            methods=["GET", "POST"],
        ),
        Route(f"{HOOK_PREFIX}/webhooks", api(sandbox.webhook), methods=["POST"]),
        Route(f"{HOOK_PREFIX}/settings", api(sandbox.settings), methods=["POST"]),
    ]
    app = sandbox_app(
        sandbox,
        routes,
        unavailable=lambda: fail(503, "Service temporarily unavailable, please try again"),
    )
    app.add_middleware(TrailingSlashMiddleware)
    return app
