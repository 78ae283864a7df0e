"""Named bounds for every loop, retry, page, batch and body (units last in each name)."""

from typing import Final

page_size_default: Final = 50
page_size_max: Final = 200
cursor_length_max: Final = 512

request_body_bytes_max: Final = 1_048_576
# Arrays and objects nested in a JSON request body (deeper: 400 json_too_deep).
json_depth_max: Final = 64
idempotency_key_length_max: Final = 255
idempotency_ttl_hours: Final = 24

# One log line: each value is cut to this many characters (a traceback, a provider's answer),
# and redaction walks nested values this deep.
log_value_chars_max: Final = 8_000
log_redaction_depth_max: Final = 8

health_check_timeout_seconds: Final = 2.0
database_connect_timeout_seconds: Final = 5.0
# Retry-After on a 503 for a statement cancelled by DATABASE_STATEMENT_TIMEOUT_MS.
statement_timeout_retry_after_seconds: Final = 5
embedded_postgres_start_timeout_seconds: Final = 60.0
e2e_server_start_timeout_seconds: Final = 60.0

provider_timeout_seconds: Final = 10.0
provider_retries_max: Final = 3

serialization_retries_max: Final = 5

outbox_batch_size_max: Final = 100
webhook_attempts_max: Final = 6
webhook_response_body_bytes_max: Final = 2_048

memory_cache_entries_max: Final = 10_000

# Retries of safe provider calls (verify/fetch, and creates made idempotent by a reference).
provider_retry_wait_initial_seconds: Final = 0.2
provider_retry_wait_max_seconds: Final = 2.0
provider_reference_length_max: Final = 64

# Provider sandboxes: bounds on their test hooks.
sandbox_fault_requests_max: Final = 100
sandbox_delay_seconds_max: Final = 60.0
sandbox_webhook_delivery_timeout_seconds: Final = 5.0

# Payment connectors (Stripe, PayPal, Razorpay) and their sandboxes.
provider_deadline_margin_seconds: Final = 0.5
stripe_webhook_tolerance_seconds: Final = 300
webhook_secrets_max: Final = 5
paypal_token_refresh_margin_seconds: Final = 60
paypal_cert_cache_entries_max: Final = 16
paypal_cert_bytes_max: Final = 65_536
sandbox_objects_max: Final = 100_000

# Audit log: field bounds and the rows read per batch when verifying a chain.
audit_action_length_max: Final = 100
audit_target_type_length_max: Final = 64
audit_target_id_length_max: Final = 128
audit_verify_batch_size_max: Final = 1_000
audit_page_size_max: Final = 200

# Core banking: loans, statements, search, account numbers and the interest job.
loan_annual_rate_percent_max: Final = 60
loan_tenure_months_max: Final = 480
statement_range_days_max: Final = 366
statement_lines_max: Final = 5_000
customer_search_query_length_max: Final = 100
account_numbers_per_day_max: Final = 999_999
savings_rate_percent_max: Final = 20
interest_accrual_batch_size_max: Final = 500

# Outbox worker, tenant webhooks and messaging.
worker_lease_seconds_min: Final = 1.0
worker_concurrency_max: Final = 256
worker_shutdown_grace_seconds: Final = 30.0
worker_job_interval_seconds_min: Final = 1.0
outbox_attempts_max: Final = 8
webhook_timeout_seconds_max: Final = 30.0
webhook_retry_delay_seconds_max: Final = 172_800.0
webhook_endpoints_per_tenant_max: Final = 50
webhook_event_types_per_endpoint_max: Final = 100
webhook_url_length_max: Final = 2_048
webhook_description_length_max: Final = 500
webhook_secret_overlap_hours_max: Final = 168
webhook_attempt_error_chars_max: Final = 500
message_body_chars_max: Final = 1_600
email_body_chars_max: Final = 200_000
email_subject_chars_max: Final = 998
template_body_chars_max: Final = 200_000
template_variables_max: Final = 100
template_name_length_max: Final = 100
provider_event_payload_bytes_max: Final = 65_536

# Payments: the unified API, routing, credentials, inbound webhooks and status polling.
# Whole-call bound on one provider operation (connector retries included); a create that
# overruns it is treated as sent-but-unanswered and resolved by polling.
payment_provider_call_deadline_seconds: Final = 15.0
payment_routing_rules_max: Final = 50
payment_routing_providers_max: Final = 6
payment_metadata_keys_max: Final = 20
payment_metadata_value_length_max: Final = 500
payment_text_length_max: Final = 500
payment_poll_batch_size_max: Final = 100
payment_poll_min_age_seconds: Final = 5
# Record before you call (design rule 6): an attempt still in flight after this long is
# resolved by the recovery job, by looking the payment up at its provider.
payment_in_flight_min_age_seconds: Final = 60
# An in-flight attempt the provider has no trace of after this long was never made there
# (longer than any provider's lookup lag, e.g. Stripe search's); it is marked failed.
payment_in_flight_lookup_seconds: Final = 900
payment_webhook_body_bytes_max: Final = 262_144
provider_credential_fields_max: Final = 10
provider_credential_value_length_max: Final = 4_096
credential_rotation_batch_size_max: Final = 500
subscription_billing_cycles_max: Final = 1_000

# Identity: passwords, tokens, one-time codes, lockout.
password_length_min: Final = 8
password_length_max: Final = 256
opaque_token_random_length: Final = 43  # base62, ≈ 256 bits
login_failures_max: Final = 10
login_lockout_minutes: Final = 30
otp_ttl_minutes: Final = 5
otp_attempts_max: Final = 5
otp_resend_interval_seconds: Final = 60
client_scopes_max: Final = 64
jwt_leeway_seconds: Final = 30
jwt_length_max: Final = 8_192

# Ledger.
ledger_transfer_id_length_max: Final = 64
ledger_description_length_max: Final = 500
ledger_entry_postings_max: Final = 100
ledger_batch_transfers_max: Final = 1_000
ledger_pending_timeout_seconds_max: Final = 31_536_000  # one year
ledger_overdraft_limit_minor_max: Final = 10**15
# An account's debit and credit totals, posted and pending, are BIGINT columns: a change that
# would take one past this is refused (`balance_out_of_range`) before the database overflows.
ledger_account_total_minor_max: Final = 2**63 - 1
ledger_expire_batch_size_max: Final = 500
ledger_expire_batches_max: Final = 100
jwt_hs_secret_length_min: Final = 32
razorpay_subscription_cycles_default: Final = 120
worker_lease_margin_seconds: Final = 2.0
worker_delivery_lanes_max: Final = 8
ratelimit_redis_timeout_seconds: Final = 1.0
# Client IPs a process remembers as out of 401 budget (the oldest is forgotten past it).
ratelimit_blocked_ips_max: Final = 10_000
# Open provider connectors (HTTP clients) a process keeps for reuse.
provider_connectors_max: Final = 256

# API field bounds shared by the request models (core/types.py, core/money.py).
amount_minor_max: Final = 10**18  # |amount| in minor units; fits BIGINT with headroom for sums
amount_float_exact_max: Final = 2**53  # an integral JSON number written as 12.0 is exact below it
email_length_max: Final = 320
person_name_length_max: Final = 200
free_text_length_max: Final = 2_000
phone_length_max: Final = 32
id_length_max: Final = 40
metadata_keys_max: Final = 50
# Metadata serialised as compact JSON (UTF-8), whatever its nesting.
metadata_bytes_max: Final = 16_384
metadata_key_length_max: Final = 40
percent_decimal_places_max: Final = 4
webhook_event_type_length_max: Final = 100
