"""The providers a sandbox may exist for."""

from __future__ import annotations

# Every provider a sandbox may exist for, each served under `/<provider>`.
PROVIDERS = (
    "razorpay",
    "paypal",
    "stripe",
    "paystack",
    "flutterwave",
    "chapa",
    "twilio",
    "resend",
    "bbps",
    "zerodha",
    "upstox",
    "groww",
)
