"""Named bounds for every loop, retry, page, batch and body (units last in each name)."""

from typing import Final

page_size_default: Final = 50
page_size_max: Final = 200
cursor_length_max: Final = 512

request_body_bytes_max: Final = 1_048_576
idempotency_key_length_max: Final = 255
idempotency_ttl_hours: Final = 24

health_check_timeout_seconds: Final = 2.0
database_connect_timeout_seconds: Final = 5.0
embedded_postgres_start_timeout_seconds: Final = 60.0
e2e_server_start_timeout_seconds: Final = 60.0

provider_timeout_seconds: Final = 10.0
provider_retries_max: Final = 3

serialization_retries_max: Final = 5

outbox_batch_size_max: Final = 100
webhook_attempts_max: Final = 6
webhook_response_body_bytes_max: Final = 2_048

memory_cache_entries_max: Final = 10_000
