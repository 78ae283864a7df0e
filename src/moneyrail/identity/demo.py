"""`moneyrail serve --demo`: a demo tenant with an owner and an API key, made once.

The credentials are kept in DATA_DIR/demo-credentials.json (mode 0600) so later starts can
show them again; the database holds only their hashes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

DEMO_EMAIL = "demo@moneyrail.local"
DEMO_ORGANIZATION = "Demo Organization"
CREDENTIALS_FILE = "demo-credentials.json"


def ensure_demo(database_url: str) -> None:
    """Create the demo tenant on first start (idempotent) and print how to use it."""
    from moneyrail.core.settings import get_settings

    settings = get_settings()
    path = Path(settings.data_dir) / CREDENTIALS_FILE
    created = asyncio.run(_ensure(database_url))
    if created is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(json.dumps(created))
    credentials: dict[str, Any] | None = created
    if credentials is None and path.exists():
        credentials = json.loads(path.read_text())
    base = settings.public_base_url.rstrip("/")
    if credentials is None:
        print(
            f"demo tenant exists; sign in as {DEMO_EMAIL} "
            f"(its credentials were printed on the first start and kept in {path})",
            flush=True,
        )
        return
    print(
        "\n".join(
            [
                "",
                f"demo organization: {DEMO_ORGANIZATION} ({credentials['tenant_id']})",
                f"  sign in:  {credentials['email']} / {credentials['password']}",
                f"  API key:  {credentials['api_key']}",
                "  try:",
                f"    curl -s {base}/api/v1/auth/me -H 'X-API-Key: {credentials['api_key']}'",
                f"    curl -s {base}/api/v1/auth/token -d grant_type=password "
                f"-d username={credentials['email']} -d password={credentials['password']}",
                f"  docs:     {base}/docs",
                "",
            ]
        ),
        flush=True,
    )


async def _ensure(url: str) -> dict[str, Any] | None:
    """The new demo credentials, or None when the demo tenant exists already."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from moneyrail.audit.service import flush_audit
    from moneyrail.auth.roles import Role
    from moneyrail.core.db import bypass_tenant_scope, create_engine, set_tenant
    from moneyrail.core.settings import get_settings
    from moneyrail.identity.service import identity
    from moneyrail.identity.tokens.config import auth_config
    from moneyrail.identity.users.repository import repository

    settings = get_settings()
    auth_config(settings)
    engine = create_engine(settings, url=url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await bypass_tenant_scope(session)
            existing = await repository.user_by_email(session, DEMO_EMAIL)
            if existing is not None:
                return None
            tenant = await identity.create_tenant(session, name=DEMO_ORGANIZATION)
            await set_tenant(session, tenant.id)
            password = secrets.token_urlsafe(12)
            await identity.create_user(
                session,
                tenant_id=tenant.id,
                email=DEMO_EMAIL,
                password=password,
                role=Role.owner,
                name="Demo Owner",
            )
            issued = await identity.issue_api_key(
                session, tenant_id=tenant.id, name="demo key", role=Role.owner
            )
            await flush_audit(session)
            return {
                "tenant_id": tenant.id,
                "email": DEMO_EMAIL,
                "password": password,
                "api_key": issued.key,
            }
    finally:
        await engine.dispose()
