"""The providers' webhook signature schemes in one place, for the import sites that use
this path: each scheme lives in its provider's `webhooks` module, the HMAC helpers in
`connectors.signing`.

- Stripe: `Stripe-Signature` (`connectors.stripe.webhooks`).
- Razorpay: `X-Razorpay-Signature` (`connectors.razorpay.webhooks`).
- PayPal: `PAYPAL-TRANSMISSION-SIG` (`connectors.paypal.webhooks`).
"""

from __future__ import annotations

from moneyrail.connectors.paypal.webhooks import paypal_sign, paypal_signed_message, verify_paypal
from moneyrail.connectors.razorpay.webhooks import razorpay_signature, verify_razorpay
from moneyrail.connectors.signing import hmac_sha256_hex
from moneyrail.connectors.stripe.webhooks import stripe_signature_header, verify_stripe

__all__ = [
    "hmac_sha256_hex",
    "paypal_sign",
    "paypal_signed_message",
    "razorpay_signature",
    "stripe_signature_header",
    "verify_paypal",
    "verify_razorpay",
    "verify_stripe",
]
