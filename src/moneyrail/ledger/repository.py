"""SQL for the ledger. The only module with SQL for ledger tables.

Posting is one statement (`APPLY_SQL`): lock the touched accounts in id order, check every
balance limit on the locked rows, insert the entry (ON CONFLICT DO NOTHING makes the id
exactly-once), update each account once and insert the postings. Either every part
happens or none does, so a refused transfer leaves nothing behind in the transaction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, bindparam, func, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core.db import driver
from moneyrail.ledger.models import LedgerAccount, LedgerEntry, LedgerHold, LedgerPosting

# The available balance of a locked row `l` after deltas `d`, and the change to it.
_NEW_AVAILABLE = (
    "CASE WHEN l.debit_normal"
    " THEN (l.posted_debits + d.pd) - (l.posted_credits + d.pc) - (l.pending_credits + d.qc)"
    " ELSE (l.posted_credits + d.pc) - (l.posted_debits + d.pd) - (l.pending_debits + d.qd) END"
)
_AVAILABLE_DELTA = "CASE WHEN l.debit_normal THEN d.pd - d.pc - d.qc ELSE d.pc - d.pd - d.qd END"
_LIMIT_OK = (
    f"(l.limit_floor IS NULL OR {_AVAILABLE_DELTA} >= 0"
    f" OR {_NEW_AVAILABLE} >= least(l.limit_floor + 1, 0))"
)

APPLY_SQL = f"""
WITH d AS (
    SELECT * FROM unnest(
        CAST(:acc_ids AS text[]), CAST(:acc_currencies AS text[]),
        CAST(:acc_pd AS bigint[]), CAST(:acc_pc AS bigint[]),
        CAST(:acc_qd AS bigint[]), CAST(:acc_qc AS bigint[])
    ) AS d(id, currency, pd, pc, qd, qc)
), locked AS (
    SELECT a.id, a.currency, a.debit_normal, a.limit_floor,
           a.posted_debits, a.posted_credits, a.pending_debits, a.pending_credits
    FROM ledger_accounts a
    WHERE a.tenant_id = :tenant_id AND a.id = ANY(CAST(:acc_ids AS text[]))
    ORDER BY a.id
    FOR UPDATE
), chk AS (
    SELECT
        count(*) AS found,
        coalesce(array_agg(l.id) FILTER (WHERE l.currency <> d.currency), '{{}}') AS mismatched,
        coalesce(array_agg(l.id) FILTER (WHERE NOT {_LIMIT_OK}), '{{}}') AS short
    FROM locked l JOIN d ON d.id = l.id
), ok AS (
    SELECT found = cardinality(CAST(:acc_ids AS text[]))
           AND cardinality(mismatched) = 0 AND cardinality(short) = 0 AS ok
    FROM chk
), ent AS (
    INSERT INTO ledger_entries (
        tenant_id, id, kind, pending, debit_account_id, credit_account_id, amount, currency,
        pending_id, reverses_id, timeout_seconds, expires_at, description, metadata, legs
    )
    SELECT :tenant_id, :entry_id, :kind, :pending, :debit_account_id, :credit_account_id,
           :amount, :currency, :pending_id, :reverses_id, :timeout_seconds,
           CAST(:expires_at AS timestamptz), :description, :metadata,
           cardinality(CAST(:leg_accounts AS text[]))
    WHERE (SELECT ok FROM ok)
    ON CONFLICT DO NOTHING
    RETURNING id, created_at
), upd AS (
    UPDATE ledger_accounts a SET
        posted_debits = a.posted_debits + d.pd,
        posted_credits = a.posted_credits + d.pc,
        pending_debits = a.pending_debits + d.qd,
        pending_credits = a.pending_credits + d.qc
    FROM d
    WHERE a.tenant_id = :tenant_id AND a.id = ANY(CAST(:acc_ids AS text[])) AND a.id = d.id
      AND EXISTS (SELECT 1 FROM ent)
    RETURNING a.id, a.debit_normal, a.posted_debits, a.posted_credits,
              a.pending_debits, a.pending_credits
), g AS (
    SELECT * FROM unnest(
        CAST(:leg_accounts AS text[]), CAST(:leg_directions AS text[]),
        CAST(:leg_effects AS text[]), CAST(:leg_amounts AS bigint[]),
        CAST(:leg_currencies AS text[])
    ) WITH ORDINALITY AS g(account_id, direction, effect, amount, currency, ord)
), pst AS (
    INSERT INTO ledger_postings (
        tenant_id, entry_id, leg, account_id, direction, effect, amount, currency,
        balance_after, created_at
    )
    SELECT :tenant_id, e.id, g.ord - 1, g.account_id, g.direction, g.effect, g.amount,
           g.currency,
           (CASE WHEN u.debit_normal THEN u.posted_debits - u.posted_credits
                 ELSE u.posted_credits - u.posted_debits END)
           - coalesce(sum(
                CASE WHEN g.effect <> 'posted' THEN 0
                     WHEN (g.direction = 'debit') = u.debit_normal THEN g.amount
                     ELSE -g.amount END
             ) OVER (PARTITION BY g.account_id ORDER BY g.ord DESC
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
           e.created_at
    FROM ent e CROSS JOIN g JOIN upd u ON u.id = g.account_id
    RETURNING 1
), hold_add AS (
    INSERT INTO ledger_holds (tenant_id, transfer_id, expires_at)
    SELECT :tenant_id, e.id, CAST(:hold_expires_at AS timestamptz) FROM ent e
    WHERE CAST(:hold_expires_at AS timestamptz) IS NOT NULL
    RETURNING 1
), hold_del AS (
    DELETE FROM ledger_holds h
    WHERE h.tenant_id = :tenant_id AND h.transfer_id = :release_hold_id
      AND EXISTS (SELECT 1 FROM ent)
    RETURNING 1
)
SELECT (SELECT ok FROM ok) AS ok,
       (SELECT found FROM chk) AS found,
       (SELECT mismatched FROM chk) AS mismatched,
       (SELECT short FROM chk) AS short,
       (SELECT created_at FROM ent) AS created_at,
       (SELECT count(*) FROM pst) AS postings,
       (SELECT count(*) FROM hold_add) + (SELECT count(*) FROM hold_del) AS holds
"""


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`:name` parameters to the driver's `$n`, with the names in order."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<![:\w]):([a-z_]+)", number, sql), tuple(names)


# The hot path runs on the session's own asyncpg connection, inside the session's
# transaction: the same statement, without SQLAlchemy's per-execution overhead (about 60%
# of the CPU the statement costs the application).
APPLY_DRIVER_SQL, APPLY_PARAM_NAMES = _positional(APPLY_SQL)

# --- batches: set-based statements over arrays ----------------------------------------------

_LOCK_ACCOUNTS = text(
    """
    SELECT id, currency, debit_normal, limit_floor,
           posted_debits, posted_credits, pending_debits, pending_credits
    FROM ledger_accounts
    WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS text[]))
    ORDER BY id
    FOR UPDATE
    """
)
_INSERT_ENTRIES = text(
    """
    WITH ins AS (
        INSERT INTO ledger_entries (
            tenant_id, id, kind, pending, debit_account_id, credit_account_id, amount,
            currency, timeout_seconds, expires_at, description, metadata, legs
        )
        SELECT :tenant_id, u.id, 'transfer', u.pending, u.debit, u.credit, u.amount,
               u.currency, u.timeout, u.expires_at, u.description, CAST(u.metadata AS jsonb), 2
        FROM unnest(
            CAST(:ids AS text[]), CAST(:pending AS boolean[]), CAST(:debits AS text[]),
            CAST(:credits AS text[]), CAST(:amounts AS bigint[]), CAST(:currencies AS text[]),
            CAST(:timeouts AS integer[]), CAST(:expires AS timestamptz[]),
            CAST(:descriptions AS text[]), CAST(:metadata AS text[])
        ) AS u(id, pending, debit, credit, amount, currency, timeout, expires_at, description,
               metadata)
        ON CONFLICT DO NOTHING
        RETURNING 1
    )
    SELECT count(*) AS inserted FROM ins
    """
)
# Absolute values: the rows are locked by this transaction since they were read. Driven by
# the array, one primary-key probe per account: the prepared statement's generic plan
# (chosen after five executions) estimates an unnest at 10 rows, and with an extra
# `a.id = ANY(:ids)` it estimated the accounts at one row and rescanned the array for each,
# quadratic in the batch (250 ms for 1,000 accounts).
_STORE_COUNTERS = text(
    """
    UPDATE ledger_accounts a SET
        posted_debits = u.pd, posted_credits = u.pc,
        pending_debits = u.qd, pending_credits = u.qc
    FROM unnest(
        CAST(:ids AS text[]), CAST(:pd AS bigint[]), CAST(:pc AS bigint[]),
        CAST(:qd AS bigint[]), CAST(:qc AS bigint[])
    ) AS u(id, pd, pc, qd, qc)
    WHERE a.tenant_id = :tenant_id AND a.id = u.id
    """
)
_INSERT_POSTINGS = text(
    """
    INSERT INTO ledger_postings (
        tenant_id, entry_id, leg, account_id, direction, effect, amount, currency, balance_after
    )
    SELECT :tenant_id, u.entry_id, u.leg, u.account_id, u.direction, u.effect, u.amount,
           u.currency, u.balance_after
    FROM unnest(
        CAST(:entry_ids AS text[]), CAST(:legs AS smallint[]), CAST(:accounts AS text[]),
        CAST(:directions AS text[]), CAST(:effects AS text[]), CAST(:amounts AS bigint[]),
        CAST(:currencies AS text[]), CAST(:balances AS bigint[])
    ) AS u(entry_id, leg, account_id, direction, effect, amount, currency, balance_after)
    """
)
# Events of batch items that failed after their events were written (before the locks).
# `since` bounds the scan of the (tenant_id, created_at) index to this batch's rows.
_DELETE_TRANSFER_EVENTS = text(
    """
    DELETE FROM outbox_events
    WHERE tenant_id = :tenant_id AND created_at >= :since
      AND type IN ('transfer.posted', 'transfer.pending')
      AND payload -> 'data' ->> 'id' = ANY(CAST(:ids AS text[]))
    """
)
_INSERT_HOLDS = text(
    """
    INSERT INTO ledger_holds (tenant_id, transfer_id, expires_at)
    SELECT :tenant_id, u.id, u.expires_at
    FROM unnest(CAST(:ids AS text[]), CAST(:expires AS timestamptz[])) AS u(id, expires_at)
    """
)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """The values of an entry row to insert."""

    id: str
    kind: str
    pending: bool = False
    debit_account_id: str | None = None
    credit_account_id: str | None = None
    amount: int | None = None
    currency: str | None = None
    pending_id: str | None = None
    reverses_id: str | None = None
    timeout_seconds: int | None = None
    expires_at: datetime | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Leg:
    account_id: str
    direction: str
    effect: str
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class Delta:
    """How one account's four counters change; `currency` is the one its legs use."""

    account_id: str
    currency: str
    posted_debits: int = 0
    posted_credits: int = 0
    pending_debits: int = 0
    pending_credits: int = 0


@dataclass(frozen=True, slots=True)
class ApplyResult:
    ok: bool
    found: int
    mismatched: list[str]
    short: list[str]
    created_at: datetime | None
    postings: int

    @property
    def inserted(self) -> bool:
        return self.created_at is not None


def apply_params(
    *,
    tenant_id: str,
    entry: EntryRow,
    legs: Sequence[Leg],
    deltas: Sequence[Delta],
    hold_expires_at: datetime | None = None,
    release_hold_id: str | None = None,
) -> dict[str, Any]:
    """The bind parameters of `APPLY_SQL` (also used by the benchmark's raw-SQL client)."""
    ordered = sorted(deltas, key=lambda delta: delta.account_id)
    return {
        "tenant_id": tenant_id,
        "acc_ids": [d.account_id for d in ordered],
        "acc_currencies": [d.currency for d in ordered],
        "acc_pd": [d.posted_debits for d in ordered],
        "acc_pc": [d.posted_credits for d in ordered],
        "acc_qd": [d.pending_debits for d in ordered],
        "acc_qc": [d.pending_credits for d in ordered],
        "entry_id": entry.id,
        "kind": entry.kind,
        "pending": entry.pending,
        "debit_account_id": entry.debit_account_id,
        "credit_account_id": entry.credit_account_id,
        "amount": entry.amount,
        "currency": entry.currency,
        "pending_id": entry.pending_id,
        "reverses_id": entry.reverses_id,
        "timeout_seconds": entry.timeout_seconds,
        "expires_at": entry.expires_at,
        "description": entry.description,
        "metadata": entry.metadata or {},
        "leg_accounts": [leg.account_id for leg in legs],
        "leg_directions": [leg.direction for leg in legs],
        "leg_effects": [leg.effect for leg in legs],
        "leg_amounts": [leg.amount for leg in legs],
        "leg_currencies": [leg.currency for leg in legs],
        "hold_expires_at": hold_expires_at,
        "release_hold_id": release_hold_id,
    }


class LedgerRepository:
    # --- accounts -----------------------------------------------------------------------------

    async def insert_account(self, session: AsyncSession, values: dict[str, Any]) -> bool:
        """Insert an account; False when the tenant already has one with that code."""
        stmt = (
            pg_insert(LedgerAccount)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["code", "tenant_id"])
            .returning(LedgerAccount.id)
        )
        return (await session.execute(stmt)).first() is not None

    async def account(
        self, session: AsyncSession, *, tenant_id: str, account_id: str
    ) -> LedgerAccount | None:
        stmt = select(LedgerAccount).where(
            LedgerAccount.tenant_id == tenant_id, LedgerAccount.id == account_id
        )
        return (await session.execute(stmt)).scalar_one_or_none()

    async def account_by_code(
        self, session: AsyncSession, *, tenant_id: str, code: str
    ) -> LedgerAccount | None:
        stmt = select(LedgerAccount).where(
            LedgerAccount.tenant_id == tenant_id, LedgerAccount.code == code
        )
        return (await session.execute(stmt)).scalar_one_or_none()

    async def accounts(
        self, session: AsyncSession, *, tenant_id: str, account_ids: Sequence[str]
    ) -> dict[str, LedgerAccount]:
        stmt = select(LedgerAccount).where(
            LedgerAccount.tenant_id == tenant_id, LedgerAccount.id.in_(list(account_ids))
        )
        return {row.id: row for row in (await session.execute(stmt)).scalars()}

    # --- posting ------------------------------------------------------------------------------

    async def apply(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        entry: EntryRow,
        legs: Sequence[Leg],
        deltas: Sequence[Delta],
        hold_expires_at: datetime | None = None,
        release_hold_id: str | None = None,
    ) -> ApplyResult:
        params = apply_params(
            tenant_id=tenant_id,
            entry=entry,
            legs=legs,
            deltas=deltas,
            hold_expires_at=hold_expires_at,
            release_hold_id=release_hold_id,
        )
        params["metadata"] = json.dumps(params["metadata"])
        connection = await driver(session)
        row = await connection.fetchrow(APPLY_DRIVER_SQL, *[params[n] for n in APPLY_PARAM_NAMES])
        assert row is not None
        return ApplyResult(
            ok=bool(row["ok"]),
            found=int(row["found"]),
            mismatched=list(row["mismatched"]),
            short=list(row["short"]),
            created_at=row["created_at"],
            postings=int(row["postings"]),
        )

    # --- batches ------------------------------------------------------------------------------

    async def lock_accounts(
        self, session: AsyncSession, *, tenant_id: str, account_ids: list[str]
    ) -> Sequence[Row[Any]]:
        """Lock accounts in id order and read their counters."""
        params = {"tenant_id": tenant_id, "ids": account_ids}
        return (await session.execute(_LOCK_ACCOUNTS, params)).all()

    async def entries_by_ids(
        self, session: AsyncSession, *, tenant_id: str, entry_ids: list[str]
    ) -> tuple[dict[str, LedgerEntry], datetime]:
        """The entries among `entry_ids`, and the transaction's `now()` (the `created_at`
        of every row this transaction inserts)."""
        now: datetime = (await session.execute(select(func.now()))).scalar_one()
        if not entry_ids:
            return {}, now
        stmt = select(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.id == func.any(bindparam("ids", entry_ids, type_=ARRAY(String))),
        )
        return {row.id: row for row in (await session.execute(stmt)).scalars()}, now

    async def delete_transfer_events(
        self, session: AsyncSession, *, tenant_id: str, transfer_ids: list[str], since: datetime
    ) -> None:
        """Delete this transaction's outbox events of transfers that were not created."""
        params = {"tenant_id": tenant_id, "ids": transfer_ids, "since": since}
        await session.execute(_DELETE_TRANSFER_EVENTS, params)

    async def insert_entries(
        self, session: AsyncSession, *, tenant_id: str, entries: list[EntryRow]
    ) -> int:
        """Insert transfers; returns how many were new (an existing id is skipped)."""
        params = {
            "tenant_id": tenant_id,
            "ids": [e.id for e in entries],
            "pending": [e.pending for e in entries],
            "debits": [e.debit_account_id for e in entries],
            "credits": [e.credit_account_id for e in entries],
            "amounts": [e.amount for e in entries],
            "currencies": [e.currency for e in entries],
            "timeouts": [e.timeout_seconds for e in entries],
            "expires": [e.expires_at for e in entries],
            "descriptions": [e.description for e in entries],
            "metadata": [json.dumps(e.metadata or {}) for e in entries],
        }
        row = (await session.execute(_INSERT_ENTRIES, params)).one()
        return int(row.inserted)

    async def store_counters(
        self, session: AsyncSession, *, tenant_id: str, accounts: Sequence[Any]
    ) -> None:
        """Write new counters of accounts this transaction locked (`AccountState`s)."""
        if not accounts:
            return
        params = {
            "tenant_id": tenant_id,
            "ids": [a.id for a in accounts],
            "pd": [a.posted_debits for a in accounts],
            "pc": [a.posted_credits for a in accounts],
            "qd": [a.pending_debits for a in accounts],
            "qc": [a.pending_credits for a in accounts],
        }
        await session.execute(_STORE_COUNTERS, params)

    async def insert_batch_postings(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        postings: Sequence[tuple[str, str, Sequence[tuple[str, str, str, int, int]]]],
    ) -> None:
        """`postings`: (entry id, currency, legs of (account, direction, effect, amount,
        balance after))."""
        columns: dict[str, list[Any]] = {
            key: []
            for key in (
                "entry_ids",
                "legs",
                "accounts",
                "directions",
                "effects",
                "amounts",
                "currencies",
                "balances",
            )
        }
        for entry_id, currency, legs in postings:
            for number, (account, direction, effect, amount, balance) in enumerate(legs):
                columns["entry_ids"].append(entry_id)
                columns["legs"].append(number)
                columns["accounts"].append(account)
                columns["directions"].append(direction)
                columns["effects"].append(effect)
                columns["amounts"].append(amount)
                columns["currencies"].append(currency)
                columns["balances"].append(balance)
        await session.execute(_INSERT_POSTINGS, {"tenant_id": tenant_id, **columns})

    async def insert_holds(
        self, session: AsyncSession, *, tenant_id: str, entries: Sequence[EntryRow]
    ) -> None:
        timed = [e for e in entries if e.pending and e.expires_at is not None]
        if timed:
            params = {
                "tenant_id": tenant_id,
                "ids": [e.id for e in timed],
                "expires": [e.expires_at for e in timed],
            }
            await session.execute(_INSERT_HOLDS, params)

    # --- entries ------------------------------------------------------------------------------

    async def entry(
        self, session: AsyncSession, *, tenant_id: str, entry_id: str
    ) -> LedgerEntry | None:
        stmt = select(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id, LedgerEntry.id == entry_id
        )
        return (await session.execute(stmt)).scalar_one_or_none()

    async def entry_with_links(
        self, session: AsyncSession, *, tenant_id: str, entry_id: str
    ) -> tuple[LedgerEntry, LedgerEntry | None, LedgerEntry | None] | None:
        """An entry with the entry that resolved it (post/void/expire) and its reversal."""
        entry = await self.entry(session, tenant_id=tenant_id, entry_id=entry_id)
        if entry is None:
            return None
        links = (
            await session.execute(
                select(LedgerEntry).where(
                    LedgerEntry.tenant_id == tenant_id,
                    (LedgerEntry.pending_id == entry_id) | (LedgerEntry.reverses_id == entry_id),
                )
            )
        ).scalars()
        resolution = reversal = None
        for link in links:
            if link.pending_id == entry_id:
                resolution = link
            else:
                reversal = link
        return entry, resolution, reversal

    async def postings_of(
        self, session: AsyncSession, *, tenant_id: str, entry_id: str
    ) -> list[LedgerPosting]:
        stmt = (
            select(LedgerPosting)
            .where(LedgerPosting.tenant_id == tenant_id, LedgerPosting.entry_id == entry_id)
            .order_by(LedgerPosting.leg)
        )
        return list((await session.execute(stmt)).scalars())

    async def account_postings(
        self,
        session: AsyncSession,
        *,
        tenant_id: str,
        account_id: str,
        before_seq: int | None,
        limit: int,
    ) -> Sequence[Row[LedgerPosting, str | None]]:
        """Newest first; one extra row tells the caller there is a next page."""
        stmt = (
            select(LedgerPosting, LedgerEntry.description)
            .join(
                LedgerEntry,
                (LedgerEntry.tenant_id == LedgerPosting.tenant_id)
                & (LedgerEntry.id == LedgerPosting.entry_id),
            )
            .where(LedgerPosting.tenant_id == tenant_id, LedgerPosting.account_id == account_id)
            .order_by(LedgerPosting.seq.desc())
            .limit(limit + 1)
        )
        if before_seq is not None:
            stmt = stmt.where(LedgerPosting.seq < before_seq)
        return (await session.execute(stmt)).all()

    # --- holds --------------------------------------------------------------------------------

    async def expired_holds(
        self, session: AsyncSession, *, now: datetime, limit: int
    ) -> list[tuple[str, str]]:
        """Expired holds across tenants (the caller bypasses tenant scope).

        Not locked here: locking a hold before its accounts would invert the lock order
        of a concurrent post or void. The unique resolution index settles such races.
        """
        stmt = (
            select(LedgerHold.tenant_id, LedgerHold.transfer_id)
            .where(LedgerHold.expires_at <= now)
            .order_by(LedgerHold.expires_at)
            .limit(limit)
        )
        return [(row.tenant_id, row.transfer_id) for row in await session.execute(stmt)]

    # --- reports ------------------------------------------------------------------------------

    async def trial_balance(
        self, session: AsyncSession, *, tenant_id: str, currency: str
    ) -> list[LedgerAccount]:
        stmt = (
            select(LedgerAccount)
            .where(LedgerAccount.tenant_id == tenant_id, LedgerAccount.currency == currency)
            .order_by(LedgerAccount.code)
        )
        return list((await session.execute(stmt)).scalars())

    async def posting_sums(
        self, session: AsyncSession, *, tenant_id: str
    ) -> dict[str, tuple[int, int, int, int]]:
        """Per account: counters recomputed from postings (for integrity checks)."""

        def total(direction: str, effect: str) -> Any:
            return func.coalesce(
                func.sum(LedgerPosting.amount).filter(
                    (LedgerPosting.direction == direction) & (LedgerPosting.effect == effect)
                ),
                0,
            )

        stmt = (
            select(
                LedgerPosting.account_id,
                total("debit", "posted"),
                total("credit", "posted"),
                total("debit", "pending") - total("debit", "release"),
                total("credit", "pending") - total("credit", "release"),
            )
            .where(LedgerPosting.tenant_id == tenant_id)
            .group_by(LedgerPosting.account_id)
        )
        return {
            row[0]: (int(row[1]), int(row[2]), int(row[3]), int(row[4]))
            for row in await session.execute(stmt)
        }

    async def insert_rows(
        self, session: AsyncSession, table: Any, rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            await session.execute(insert(table), rows)


repository = LedgerRepository()
