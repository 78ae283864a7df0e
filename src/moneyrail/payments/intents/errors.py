"""What creating, capturing and cancelling a payment can refuse, with stable codes."""

from __future__ import annotations

from moneyrail.connectors.base import ProviderUnavailable
from moneyrail.core.errors import Conflict, NotFound, Unprocessable


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    title = "Payment not found"


class NoProviderAvailable(Unprocessable):
    code = "no_provider_available"
    title = "No payment provider can take this payment"


class AllProvidersUnavailable(ProviderUnavailable):
    code = "all_providers_unavailable"
    title = "Every payment provider refused the payment"


class NoProviderSupports(Unprocessable):
    """Every provider tried refused the payment as something it does not do (a currency,
    country or method it does not support): retrying cannot help, so a 4xx."""

    code = "no_provider_supports_payment"
    title = "No payment provider supports this payment"


class PaymentNotCapturable(Conflict):
    code = "payment_not_capturable"
    title = "Only an authorized payment can be captured"


class PaymentNotCancellable(Conflict):
    code = "payment_not_cancellable"
    title = "The payment can no longer be cancelled"


class CaptureExceedsAuthorized(Unprocessable):
    code = "capture_exceeds_authorized"
    title = "Capture amount exceeds the authorized amount"
