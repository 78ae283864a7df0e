"""Payments across providers, in sub-domains, each with the domain file set where it applies:

- `intents/`: payments themselves — create (routing and fallback), read, list, capture, cancel.
- `refunds/`: refunds of captured payments (build on `intents`).
- `subscriptions/`: recurring billing at the provider; renewals recorded as payments.
- `credentials/`: the tenant's provider credentials and accounts ("services").
- `routing/`: routing rules (`rules.py` is the pure matching logic).
- `webhooks/`: inbound provider webhooks.
- `reconcile/`: asking the provider again (verify), and resolving what waits on it.

Shared by them, at this level: `models.py` (every table), `schemas.py` (shared body types),
`providers.py` (reaching a provider), `transitions.py`/`state.py`/`ledger_postings.py`
(payment state machine and its ledger entries), `auth.py`, `deps.py`. The top-level
`service.py` is the domain's face for other domains and `api.py` joins the sub-domains'
routers into one `router`. Sub-domains never import `payments.service` or `payments.api`.
"""
