"""Ledger tables: accounts with cached balances, append-only entries and postings, open holds.

The database guards the invariants as well as the code: CHECK constraints on amounts and
currencies, a trigger refusing any update that takes an account below its balance limit, a deferred constraint trigger refusing an unbalanced entry
at commit, and triggers plus revoked privileges keeping entries and postings append-only
(see the migration `20261123_0005_ledger`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from moneyrail.core.db import Base

ACCOUNT_ID_LENGTH = 40
ENTRY_ID_LENGTH = 80

CURRENCY_CHECK = "currency ~ '^[A-Z]{3}$'"


class LedgerAccount(Base):
    """An account and its cached balances, written only by `ledger/service.py`."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("code", "tenant_id", name="uq_ledger_accounts_code_tenant"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint(
            "kind IN ('asset', 'liability', 'equity', 'income', 'expense')", name="kind"
        ),
        CheckConstraint("debit_normal = (kind IN ('asset', 'expense'))", name="normal_side"),
        CheckConstraint(
            "(limit_type = 'none' AND limit_floor IS NULL)"
            " OR (limit_type = 'non_negative' AND limit_floor = 0)"
            " OR (limit_type = 'overdraft' AND limit_floor <= 0)",
            name="limit",
        ),
        CheckConstraint(
            "posted_debits >= 0 AND posted_credits >= 0"
            " AND pending_debits >= 0 AND pending_credits >= 0",
            name="counters_non_negative",
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(ACCOUNT_ID_LENGTH), primary_key=True)
    code: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    kind: Mapped[str] = mapped_column(String(16))
    debit_normal: Mapped[bool] = mapped_column(Boolean)
    limit_type: Mapped[str] = mapped_column(String(16), server_default="none")
    limit_floor: Mapped[int | None] = mapped_column(BigInteger)
    posted_debits: Mapped[int] = mapped_column(BigInteger, server_default="0")
    posted_credits: Mapped[int] = mapped_column(BigInteger, server_default="0")
    pending_debits: Mapped[int] = mapped_column(BigInteger, server_default="0")
    pending_credits: Mapped[int] = mapped_column(BigInteger, server_default="0")
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerEntry(Base):
    """A balanced set of postings: a transfer, a multi-leg entry, a hold's resolution or a
    reversal. Never updated or deleted."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('transfer', 'entry', 'post_pending', 'void_pending', 'expire_pending',"
            " 'reversal')",
            name="kind",
        ),
        CheckConstraint("amount IS NULL OR amount > 0", name="amount_positive"),
        CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint(
            "(debit_account_id IS NULL AND credit_account_id IS NULL)"
            " OR debit_account_id <> credit_account_id",
            name="two_accounts",
        ),
        CheckConstraint("NOT pending OR kind = 'transfer'", name="pending_transfer"),
        CheckConstraint(
            "(pending_id IS NOT NULL) = (kind IN ('post_pending', 'void_pending',"
            " 'expire_pending'))",
            name="resolution",
        ),
        CheckConstraint("(reverses_id IS NOT NULL) = (kind = 'reversal')", name="reversal"),
        CheckConstraint("legs >= 1", name="legs"),
        CheckConstraint("timeout_seconds IS NULL OR timeout_seconds > 0", name="timeout"),
        # A pending transfer is resolved (posted, voided or expired) and reversed at most once.
        Index(
            "uq_ledger_entries_pending_id",
            "tenant_id",
            "pending_id",
            unique=True,
            postgresql_where=text("pending_id IS NOT NULL"),
        ),
        Index(
            "uq_ledger_entries_reverses_id",
            "tenant_id",
            "reverses_id",
            unique=True,
            postgresql_where=text("reverses_id IS NOT NULL"),
        ),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(ENTRY_ID_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    pending: Mapped[bool] = mapped_column(Boolean, server_default="false")
    debit_account_id: Mapped[str | None] = mapped_column(String(ACCOUNT_ID_LENGTH))
    credit_account_id: Mapped[str | None] = mapped_column(String(ACCOUNT_ID_LENGTH))
    amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    pending_id: Mapped[str | None] = mapped_column(String(ENTRY_ID_LENGTH))
    reverses_id: Mapped[str | None] = mapped_column(String(ENTRY_ID_LENGTH))
    timeout_seconds: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    legs: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerPosting(Base):
    """One leg of an entry. `balance_after` is the account's posted balance after it.

    Its references (entry, account, currency, leg) are checked per statement by a trigger
    rather than by foreign keys; see the migration."""

    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(CURRENCY_CHECK, name="currency"),
        CheckConstraint("direction IN ('debit', 'credit')", name="direction"),
        CheckConstraint("effect IN ('posted', 'pending', 'release')", name="effect"),
        CheckConstraint("leg >= 0", name="leg"),
        Index("ix_ledger_postings_account_seq", "account_id", "tenant_id", "seq"),
    )

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    entry_id: Mapped[str] = mapped_column(String(ENTRY_ID_LENGTH), primary_key=True)
    leg: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=False))
    account_id: Mapped[str] = mapped_column(String(ACCOUNT_ID_LENGTH))
    direction: Mapped[str] = mapped_column(String(6))
    effect: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    balance_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class LedgerHold(Base):
    """An open pending transfer with a timeout: the queue the expiry job works through.

    Deleted when the hold is posted, voided or expires (the entries keep the history).
    """

    __tablename__ = "ledger_holds"
    __table_args__ = (Index("ix_ledger_holds_expires_at", "expires_at"),)

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(ENTRY_ID_LENGTH), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerSettings(Base):
    """A tenant's ledger options; no row means every option at its default (off)."""

    __tablename__ = "ledger_settings"

    tenant_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    precious_metals_enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
