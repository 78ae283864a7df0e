"""Anchors: the chains' heads, signed with a key the database does not hold.

A hash chain proves that rows were not changed *relative to each other*; someone who can
write to the database could still rewrite a row and recompute every later hash. An anchor
records each chain's head (seq and hash) at a moment and a MAC over them with a key derived
from `SECRET_KEY`. Kept outside the database (a file, a ticket, object storage with
retention), it lets `moneyrail audit verify --anchor FILE` prove that the rows it covers are
the ones that existed when it was taken: a rewritten row changes the hash at the anchored
seq, and a forged anchor fails its MAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.audit.repository import repository
from moneyrail.core.db import bypass_tenant_scope

ANCHOR_VERSION = 1


def anchor_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"moneyrail/audit-anchor/v1", hashlib.sha256).digest()


def _mac(key: bytes, heads: dict[str, dict[str, Any]], taken_at: str) -> str:
    message = json.dumps(
        {"v": ANCHOR_VERSION, "taken_at": taken_at, "heads": heads},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@dataclass
class AnchorCheck:
    """What verifying the chains against an anchor found."""

    chains: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


async def take(session: AsyncSession, *, key: bytes) -> dict[str, Any]:
    """Every chain's head now, with the MAC that binds them."""
    await bypass_tenant_scope(session)
    heads: dict[str, dict[str, Any]] = {}
    for tenant_id in await repository.chain_tenants(session):
        head = await repository.head(session, tenant_id)
        if head is not None:
            heads[tenant_id] = {"seq": head.seq, "hash": head.hash}
    taken_at = datetime.now(UTC).isoformat()
    return {
        "v": ANCHOR_VERSION,
        "taken_at": taken_at,
        "heads": heads,
        "mac": _mac(key, heads, taken_at),
    }


async def check(session: AsyncSession, *, anchor: dict[str, Any], key: bytes) -> AnchorCheck:
    """Whether the anchor is genuine and every chain still holds the row it recorded."""
    result = AnchorCheck()
    heads = anchor.get("heads")
    taken_at = anchor.get("taken_at")
    mac = anchor.get("mac")
    if (
        anchor.get("v") != ANCHOR_VERSION
        or not isinstance(heads, dict)
        or not isinstance(taken_at, str)
        or not isinstance(mac, str)
    ):
        result.problems.append("the anchor is not a moneyrail audit anchor")
        return result
    if not hmac.compare_digest(mac, _mac(key, heads, taken_at)):
        result.problems.append("the anchor's MAC does not match: it was altered or forged")
        return result
    await bypass_tenant_scope(session)
    for tenant_id, head in sorted(heads.items()):
        result.chains += 1
        row_hash = await repository.hash_at(session, tenant_id=tenant_id, seq=int(head["seq"]))
        if row_hash is None:
            result.problems.append(
                f"tenant {tenant_id}: row {head['seq']} recorded by the anchor is missing"
            )
        elif row_hash != head["hash"]:
            result.problems.append(
                f"tenant {tenant_id}: row {head['seq']} differs from the anchor "
                "(the chain was rewritten after it was taken)"
            )
    return result
