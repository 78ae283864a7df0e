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
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, String, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from moneyrail.core import limits
from moneyrail.core.db import driver, json_column, json_rows
from moneyrail.ledger.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerHold,
    LedgerPosting,
    LedgerSettings,
)

# The available balance of a locked row `l` after deltas `d`, and the change to it.
# Computed in numeric: a BIGINT sum past the bound would abort the statement before the bound
# check below could refuse it.
_NEW_AVAILABLE = (
    "CASE WHEN l.debit_normal"
    " THEN (l.posted_debits::numeric + d.pd) - (l.posted_credits::numeric + d.pc)"
    " - (l.pending_credits::numeric + d.qc)"
    " ELSE (l.posted_credits::numeric + d.pc) - (l.posted_debits::numeric + d.pd)"
    " - (l.pending_debits::numeric + d.qd) END"
)
# Every counter stays within its BIGINT column.
_IN_RANGE = (
    "greatest(l.posted_debits::numeric + d.pd, l.posted_credits::numeric + d.pc,"
    " l.pending_debits::numeric + d.qd, l.pending_credits::numeric + d.qc) <= :total_max"
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
        coalesce(array_agg(l.id) FILTER (WHERE NOT {_LIMIT_OK}), '{{}}') AS short,
        coalesce(array_agg(l.id ORDER BY l.id) FILTER (WHERE NOT {_IN_RANGE}), '{{}}')
            AS out_of_range
    FROM locked l JOIN d ON d.id = l.id
), ok AS (
    SELECT found = cardinality(CAST(:acc_ids AS text[]))
           AND cardinality(mismatched) = 0 AND cardinality(short) = 0
           AND cardinality(out_of_range) = 0 AS ok
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
       (SELECT out_of_range FROM chk) AS out_of_range,
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

# --- batches: set-based statements over columns ---------------------------------------------
#
# Run on the transaction's driver connection (`core.db.driver`), inside the session's
# transaction; a batch's rows travel as one JSON-array parameter per column
# (`core.db.json_column` / `json_rows`).


# The transaction's `now()` (the `created_at` of every row it inserts) and which of the
# batch's ids exist already.
_BATCH_LOOKUP = """
    SELECT now() AS now, coalesce(array_agg(id), '{}') AS existing
    FROM ledger_entries
    WHERE tenant_id = $1
      AND id = ANY(ARRAY(SELECT json_array_elements_text($2::text::json)))
"""
# Lock the accounts in id order; their counters come back as one array per column.
_BATCH_LOCK = """
    SELECT coalesce(array_agg(id), '{}') AS ids,
           coalesce(array_agg(currency), '{}') AS currencies,
           coalesce(array_agg(debit_normal), '{}') AS debit_normal,
           coalesce(array_agg(limit_floor), '{}') AS limit_floors,
           coalesce(array_agg(posted_debits), '{}') AS posted_debits,
           coalesce(array_agg(posted_credits), '{}') AS posted_credits,
           coalesce(array_agg(pending_debits), '{}') AS pending_debits,
           coalesce(array_agg(pending_credits), '{}') AS pending_credits
    FROM (
        SELECT id, currency, debit_normal, limit_floor,
               posted_debits, posted_credits, pending_debits, pending_credits
        FROM ledger_accounts
        WHERE tenant_id = $1
          AND id = ANY(ARRAY(SELECT json_array_elements_text($2::text::json)))
        ORDER BY id
        FOR UPDATE
    ) AS locked
"""
# A batch's new entries, in id order (concurrent batches sharing ids then wait for one
# another instead of deadlocking). An id that a concurrent request committed after the
# batch looked it up fails the statement with a unique violation (`BatchRaced`), and the
# batch is retried: no ON CONFLICT clause, whose speculative insertion would cost every
# row. The statement trigger queues the entries for the deferred balance check at commit.
_BATCH_ENTRIES_COLUMNS = (
    "id",
    "pending",
    "debit",
    "credit",
    "amount",
    "currency",
    "timeout",
    "expires_at",
    "description",
    "metadata",
)
_BATCH_ENTRIES = f"""
    WITH ins AS (
        INSERT INTO ledger_entries (
            tenant_id, id, kind, pending, debit_account_id, credit_account_id, amount,
            currency, timeout_seconds, expires_at, description, metadata, legs
        )
        SELECT $1, u.id, 'transfer', u.pending::boolean, u.debit, u.credit, u.amount::bigint,
               u.currency, u.timeout::integer, u.expires_at::timestamptz, u.description,
               u.metadata::jsonb, 2
        FROM {json_rows(*_BATCH_ENTRIES_COLUMNS, start=2)}
        ORDER BY u.id
        RETURNING 1
    )
    SELECT count(*) FROM ins
"""
# The rest of a batch's writes, under its account locks, in one statement: two postings per
# transfer (the debit leg 0, the credit leg 1, with the posted balances the batch computed),
# the accounts' new counters (absolute values: the rows are locked by this transaction
# since they were read) and the holds of pending transfers with a timeout.
#
# Nothing joins one set of rows to another: a prepared statement's generic plan guesses
# the sizes of set-returning functions, and the account update, driven by its rows, probes
# the primary key once per account (with an extra `a.id = ANY(...)` the generic plan
# rescanned the array per account, quadratic in the batch).
_BATCH_POSTINGS_COLUMNS = (
    "id",
    "pending",
    "debit",
    "credit",
    "amount",
    "currency",
    "expires_at",
    "debit_after",
    "credit_after",
)
_BATCH_COUNTERS_COLUMNS = ("id", "pd", "pc", "qd", "qc")
_BATCH_POSTINGS = f"""
    WITH u AS (
        SELECT u.id, u.pending::boolean AS pending, u.debit, u.credit,
               u.amount::bigint AS amount, u.currency, u.expires_at::timestamptz AS expires_at,
               u.debit_after::bigint AS debit_after, u.credit_after::bigint AS credit_after
        FROM {json_rows(*_BATCH_POSTINGS_COLUMNS, start=2)}
    ), pst AS (
        INSERT INTO ledger_postings (
            tenant_id, entry_id, leg, account_id, direction, effect, amount, currency,
            balance_after
        )
        SELECT $1, u.id, l.leg, l.account_id, l.direction,
               CASE WHEN u.pending THEN 'pending' ELSE 'posted' END, u.amount, u.currency,
               l.balance_after
        FROM u CROSS JOIN LATERAL (
            VALUES (0, u.debit, 'debit', u.debit_after), (1, u.credit, 'credit', u.credit_after)
        ) AS l(leg, account_id, direction, balance_after)
        RETURNING 1
    ), cnt AS (
        UPDATE ledger_accounts a SET
            posted_debits = u.pd::bigint, posted_credits = u.pc::bigint,
            pending_debits = u.qd::bigint, pending_credits = u.qc::bigint
        FROM {json_rows(*_BATCH_COUNTERS_COLUMNS, start=2 + len(_BATCH_POSTINGS_COLUMNS))}
        WHERE a.tenant_id = $1 AND a.id = u.id
    ), hld AS (
        INSERT INTO ledger_holds (tenant_id, transfer_id, expires_at)
        SELECT $1, u.id, u.expires_at FROM u
        WHERE u.pending AND u.expires_at IS NOT NULL
    )
    SELECT count(*) FROM pst
"""


_UNIQUE_VIOLATION = "23505"


class BatchRaced(Exception):
    """A concurrent request committed one of a batch's ids after the batch looked them up."""


@dataclass(frozen=True, slots=True)
class BatchEntries:
    """The entries a batch inserts, as columns: one array parameter each."""

    ids: Sequence[str]
    pending: Sequence[bool]
    debits: Sequence[str]
    credits: Sequence[str]
    amounts: Sequence[int]
    currencies: Sequence[str]
    timeouts: Sequence[int | None]
    expires: Sequence[datetime | None]
    descriptions: Sequence[str | None]
    metadata: Sequence[str]  # JSON texts


@dataclass(frozen=True, slots=True)
class BatchPostings:
    """What a batch writes under its locks, as columns: per created transfer its fields and
    the posted balances of its debit and credit accounts after it; per changed account its
    new counters."""

    ids: Sequence[str]
    pending: Sequence[bool]
    debits: Sequence[str]
    credits: Sequence[str]
    amounts: Sequence[int]
    currencies: Sequence[str]
    expires: Sequence[datetime | None]
    debit_after: Sequence[int]
    credit_after: Sequence[int]
    account_ids: Sequence[str]
    posted_debits: Sequence[int]
    posted_credits: Sequence[int]
    pending_debits: Sequence[int]
    pending_credits: Sequence[int]


@dataclass(frozen=True, slots=True)
class LockedColumns:
    """Locked accounts' rows, one list per column, in id order."""

    ids: list[str]
    currencies: list[str]
    debit_normal: list[bool]
    limit_floors: list[int | None]
    posted_debits: list[int]
    posted_credits: list[int]
    pending_debits: list[int]
    pending_credits: list[int]


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
    out_of_range: list[str] = field(default_factory=list)

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
        "total_max": limits.ledger_account_total_minor_max,
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

    # --- settings -----------------------------------------------------------------------------

    async def settings(self, session: AsyncSession, *, tenant_id: str) -> LedgerSettings | None:
        stmt = select(LedgerSettings).where(LedgerSettings.tenant_id == tenant_id)
        return (await session.execute(stmt)).scalar_one_or_none()

    async def save_settings(
        self, session: AsyncSession, *, tenant_id: str, precious_metals_enabled: bool
    ) -> LedgerSettings:
        """Insert or update the tenant's settings row; returns it as stored."""
        stmt = (
            pg_insert(LedgerSettings)
            .values(tenant_id=tenant_id, precious_metals_enabled=precious_metals_enabled)
            .on_conflict_do_update(
                index_elements=["tenant_id"],
                set_={"precious_metals_enabled": precious_metals_enabled, "updated_at": func.now()},
            )
            .returning(LedgerSettings)
            .execution_options(populate_existing=True)
        )
        return (await session.execute(stmt)).scalar_one()

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
            out_of_range=list(row["out_of_range"]),
            postings=int(row["postings"]),
        )

    # --- batches ------------------------------------------------------------------------------

    async def batch_lookup(
        self, session: AsyncSession, *, tenant_id: str, entry_ids: list[str]
    ) -> tuple[set[str], datetime]:
        """Which of `entry_ids` exist, and the transaction's `now()` (the `created_at` of
        every row this transaction inserts)."""
        row = await (await driver(session)).fetchrow(
            _BATCH_LOOKUP, tenant_id, json_column(entry_ids)
        )
        return set(row["existing"]), row["now"]

    async def entries_by_ids(
        self, session: AsyncSession, *, tenant_id: str, entry_ids: list[str]
    ) -> dict[str, LedgerEntry]:
        stmt = select(LedgerEntry).where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.id == func.any(bindparam("ids", entry_ids, type_=ARRAY(String))),
        )
        return {row.id: row for row in (await session.execute(stmt)).scalars()}

    async def lock_batch_accounts(
        self, session: AsyncSession, *, tenant_id: str, account_ids: list[str]
    ) -> LockedColumns:
        """Lock accounts in id order and read their counters."""
        row = await (await driver(session)).fetchrow(
            _BATCH_LOCK, tenant_id, json_column(account_ids)
        )
        return LockedColumns(
            ids=row["ids"],
            currencies=row["currencies"],
            debit_normal=row["debit_normal"],
            limit_floors=row["limit_floors"],
            posted_debits=row["posted_debits"],
            posted_credits=row["posted_credits"],
            pending_debits=row["pending_debits"],
            pending_credits=row["pending_credits"],
        )

    async def insert_batch_entries(
        self, session: AsyncSession, *, tenant_id: str, entries: BatchEntries
    ) -> int:
        """Insert a batch's new entries; returns how many were inserted.

        Raises:
            BatchRaced: a concurrent request committed one of the ids (the statement failed;
                the caller rolls back to its savepoint).
        """
        try:
            inserted = await (await driver(session)).fetchval(
                _BATCH_ENTRIES,
                tenant_id,
                *map(
                    json_column,
                    (
                        entries.ids,
                        entries.pending,
                        entries.debits,
                        entries.credits,
                        entries.amounts,
                        entries.currencies,
                        entries.timeouts,
                        entries.expires,
                        entries.descriptions,
                        entries.metadata,
                    ),
                ),
            )
        except IntegrityError as exc:
            if getattr(exc.orig, "sqlstate", None) == _UNIQUE_VIOLATION:
                raise BatchRaced from exc
            raise
        return int(inserted)

    async def write_batch_postings(
        self, session: AsyncSession, *, tenant_id: str, postings: BatchPostings
    ) -> int:
        """Insert the postings and holds of a batch's created transfers (their entries are
        in) and store the counters of its locked accounts; returns how many postings."""
        written = await (await driver(session)).fetchval(
            _BATCH_POSTINGS,
            tenant_id,
            *map(
                json_column,
                (
                    postings.ids,
                    postings.pending,
                    postings.debits,
                    postings.credits,
                    postings.amounts,
                    postings.currencies,
                    postings.expires,
                    postings.debit_after,
                    postings.credit_after,
                    postings.account_ids,
                    postings.posted_debits,
                    postings.posted_credits,
                    postings.pending_debits,
                    postings.pending_credits,
                ),
            ),
        )
        return int(written)

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
