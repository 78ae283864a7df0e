"""Provider credentials and accounts ("services"). `sandbox_credentials` is re-exported for
the benchmarks, which import it from here."""

from moneyrail.payments.credentials.service import sandbox_credentials

__all__ = ["sandbox_credentials"]
