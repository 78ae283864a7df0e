"""Pydantic models of the ledger: what the service returns and what the API accepts."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator, with_config
from pydantic.config import JsonDict
from typing_extensions import TypedDict

from moneyrail.core import limits
from moneyrail.core.money import (
    LedgerCurrencyCode,
    LedgerMoneyModel,
    LedgerPositiveMoneyModel,
    PositiveMinorUnits,
)
from moneyrail.core.types import MetadataKey
from moneyrail.ledger.types import AccountKind, BalanceLimit, Balances, Direction

ClientId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=limits.ledger_transfer_id_length_max,
        pattern=r"^[A-Za-z0-9._:\-@+=]+$",
        description="A caller-chosen id that makes the operation exactly-once.",
    ),
]
Description = Annotated[str, Field(max_length=limits.ledger_description_length_max)]


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > limits.metadata_bytes_max:
        raise ValueError(f"metadata is at most {limits.metadata_bytes_max} bytes as JSON")
    return value


Metadata = Annotated[
    dict[MetadataKey, Any],
    AfterValidator(_bounded_metadata),
    Field(
        max_length=limits.metadata_keys_max,
        description=(
            "Free-form JSON kept with the record: at most"
            f" {limits.metadata_keys_max} keys and {limits.metadata_bytes_max} bytes as compact JSON."
        ),
        examples=[{"invoice": "INV-2026-0042"}],
    ),
]
AccountRef = Annotated[
    str,
    Field(
        min_length=1, max_length=limits.id_length_max, examples=["lacc_01JD3Z8K4M2N5P7Q9R1S3T5V7W"]
    ),
]

TransferStatus = Literal["posted", "pending", "voided", "expired"]
TransferKind = Literal[
    "transfer", "entry", "post_pending", "void_pending", "expire_pending", "reversal"
]


def _balance_limit_schema(schema: dict[str, Any]) -> None:
    # `_consistent` below, in the schema: `limit` with `overdraft` and only with it.
    schema["anyOf"] = [
        {
            "properties": {
                "type": {"enum": ["none", "non_negative"]},
                "limit": {"type": "null"},
            }
        },
        {
            "properties": {"type": {"const": "overdraft"}, "limit": {"type": "integer"}},
            "required": ["type", "limit"],
        },
    ]


class BalanceLimitModel(BaseModel):
    model_config = ConfigDict(frozen=True, json_schema_extra=_balance_limit_schema)

    type: Literal["none", "non_negative", "overdraft"] = "none"
    limit: int | None = Field(
        default=None,
        ge=0,
        le=limits.ledger_overdraft_limit_minor_max,
        description=(
            "Overdraft in minor units (only with type overdraft): the available balance"
            " may go below zero but stays above -limit."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> BalanceLimitModel:
        if self.type == "overdraft" and self.limit is None:
            raise ValueError("an overdraft balance limit needs `limit`")
        if self.type != "overdraft" and self.limit is not None:
            raise ValueError(f"a {self.type} balance limit takes no `limit`")
        return self

    def to_limit(self) -> BalanceLimit:
        return BalanceLimit(self.type, self.limit)

    @classmethod
    def of(cls, limit: BalanceLimit) -> BalanceLimitModel:
        return cls(type=limit.type, limit=limit.limit)


class BalancesOut(BaseModel):
    """Minor units on the account's normal side."""

    currency: LedgerCurrencyCode
    posted: int
    pending: int
    available: int
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int

    @classmethod
    def of(cls, balances: Balances) -> BalancesOut:
        return cls(
            currency=balances.currency,
            posted=balances.posted,
            pending=balances.pending,
            available=balances.available,
            posted_debits=balances.posted_debits,
            posted_credits=balances.posted_credits,
            pending_debits=balances.pending_debits,
            pending_credits=balances.pending_credits,
        )


class LedgerAccountOut(BaseModel):
    id: str
    code: str
    name: str
    currency: LedgerCurrencyCode
    kind: AccountKind
    balance_limit: BalanceLimitModel
    posted: int
    pending: int
    available: int
    balances: BalancesOut
    metadata: dict[str, Any]
    created_at: datetime


class TransferOut(BaseModel):
    """A transfer between two accounts (also a hold, its resolution or a reversal)."""

    id: str
    kind: TransferKind
    status: TransferStatus
    debit_account_id: str
    credit_account_id: str
    amount: LedgerMoneyModel
    posted_amount: LedgerMoneyModel | None = Field(
        default=None, description="For a posted hold: the amount actually posted."
    )
    pending: bool
    timeout_seconds: int | None = None
    expires_at: datetime | None = None
    pending_id: str | None = None
    reverses_id: str | None = None
    reversed_by: str | None = None
    resolved_by: str | None = None
    description: str | None = None
    metadata: dict[str, Any]
    created_at: datetime


class PostingOut(BaseModel):
    account_id: str
    direction: Direction
    effect: Literal["posted", "pending", "release"]
    amount: LedgerMoneyModel


class EntryOut(BaseModel):
    id: str
    kind: TransferKind
    postings: list[PostingOut]
    description: str | None = None
    metadata: dict[str, Any]
    created_at: datetime


class AccountEntryOut(BaseModel):
    """One posting on an account, with the account's posted balance after it."""

    seq: int
    entry_id: str
    leg: int
    direction: Direction
    effect: Literal["posted", "pending", "release"]
    amount: LedgerMoneyModel
    balance_after: int
    description: str | None = None
    created_at: datetime


class TrialBalanceLine(BaseModel):
    account_id: str
    code: str
    name: str
    kind: AccountKind
    debits: int
    credits: int
    balance: int


class TrialBalanceOut(BaseModel):
    currency: LedgerCurrencyCode
    lines: list[TrialBalanceLine]
    total_debits: int
    total_credits: int
    balanced: bool


# --- requests -----------------------------------------------------------------------------------


class AccountCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "code": "customers/cus_01JD3Z8K4M2N5P7Q9R1S3T5V7W/wallet",
                    "name": "Customer wallet",
                    "currency": "INR",
                    "kind": "liability",
                    "balance_limit": {"type": "non_negative"},
                    "metadata": {"customer": "cus_01JD3Z8K4M2N5P7Q9R1S3T5V7W"},
                }
            ]
        },
    )

    code: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-/]+$")
    name: str = Field(min_length=1, max_length=limits.person_name_length_max)
    currency: LedgerCurrencyCode
    kind: AccountKind
    balance_limit: BalanceLimitModel = BalanceLimitModel()
    metadata: Metadata | None = None


_TRANSFER_EXAMPLE: JsonDict = {
    "id": "order-8812:settle",
    "debit_account_id": "lacc_01JD3Z8K4M2N5P7Q9R1S3T5V7W",
    "credit_account_id": "lacc_01JD3Z9A1B2C3D4E5F6G7H8J9K",
    "amount": {"amount": 250000, "currency": "INR"},
    "description": "Settlement for order 8812",
    "metadata": {"order": "8812"},
}


class TransferCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_TRANSFER_EXAMPLE]})

    id: ClientId | None = None
    debit_account_id: AccountRef
    credit_account_id: AccountRef
    amount: LedgerPositiveMoneyModel
    description: Description | None = None
    metadata: Metadata | None = None
    pending: bool = False
    timeout_seconds: int | None = Field(
        default=None, gt=0, le=limits.ledger_pending_timeout_seconds_max
    )


class PostingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: AccountRef
    direction: Direction
    amount: LedgerPositiveMoneyModel


class EntryCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "payout-2291",
                    "postings": [
                        {
                            "account_id": "lacc_01JD3Z8K4M2N5P7Q9R1S3T5V7W",
                            "direction": "debit",
                            "amount": {"amount": 100000, "currency": "INR"},
                        },
                        {
                            "account_id": "lacc_01JD3Z9A1B2C3D4E5F6G7H8J9K",
                            "direction": "credit",
                            "amount": {"amount": 98000, "currency": "INR"},
                        },
                        {
                            "account_id": "lacc_01JD3ZA0B1C2D3E4F5G6H7J8K9",
                            "direction": "credit",
                            "amount": {"amount": 2000, "currency": "INR"},
                        },
                    ],
                    "description": "Payout with a 2% fee",
                }
            ]
        },
    )

    id: ClientId | None = None
    postings: list[PostingIn] = Field(min_length=2, max_length=limits.ledger_entry_postings_max)
    description: Description | None = None
    metadata: Metadata | None = None


class PostPendingIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": {"amount": 150000, "currency": "INR"}}]},
    )

    amount: LedgerPositiveMoneyModel | None = Field(
        default=None, description="Post part of the hold; the rest is released. Default: all."
    )


class ReverseIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"id": "order-8812:refund", "description": "Order 8812 cancelled"}]
        },
    )

    id: ClientId | None = Field(default=None, description="The reversal's id (default derived).")
    description: Description | None = None


class BatchAmountIn(TypedDict):
    """`LedgerPositiveMoneyModel` as a batch item's `amount`."""

    amount: PositiveMinorUnits
    currency: LedgerCurrencyCode


@with_config(ConfigDict(extra="forbid"))
class BatchTransferIn(TypedDict):
    """One transfer of a batch: `TransferCreate`'s fields with the same rules, validated
    into a plain dict. A batch holds a thousand: as models, with their amount models, they
    were six thousand objects living through the request, which the garbage collector kept
    scanning. Absent optional keys stay absent.
    """

    id: NotRequired[ClientId | None]
    debit_account_id: AccountRef
    credit_account_id: AccountRef
    amount: BatchAmountIn
    description: NotRequired[Description | None]
    metadata: NotRequired[Metadata | None]
    pending: NotRequired[bool]
    timeout_seconds: NotRequired[
        Annotated[int, Field(gt=0, le=limits.ledger_pending_timeout_seconds_max)] | None
    ]


class BatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "atomic": True,
                    "transfers": [
                        _TRANSFER_EXAMPLE,
                        {
                            "debit_account_id": "lacc_01JD3Z8K4M2N5P7Q9R1S3T5V7W",
                            "credit_account_id": "lacc_01JD3ZA0B1C2D3E4F5G6H7J8K9",
                            "amount": {"amount": 5000, "currency": "INR"},
                            "description": "Platform fee for order 8812",
                        },
                    ],
                }
            ]
        },
    )

    atomic: bool = Field(default=False, description="All transfers or none.")
    transfers: list[BatchTransferIn] = Field(
        min_length=1, max_length=limits.ledger_batch_transfers_max
    )


BatchItemStatus = Literal["created", "exists", "failed", "skipped"]


class BatchItemOut(TypedDict):
    """`created`: applied now; `exists`: the id was applied before with the same fields;
    `failed`: refused (see `error`); `skipped`: not applied because the atomic batch failed.

    A typed dict rather than a model: a batch returns a thousand of them, serialised by
    pydantic-core without an object per item."""

    index: int
    id: str | None
    status: BatchItemStatus
    error: dict[str, Any] | None


class BatchOut(BaseModel):
    atomic: bool
    applied: bool
    created: int
    failed: int
    results: list[BatchItemOut]


# --- settings -----------------------------------------------------------------------------------


class LedgerSettingsOut(BaseModel):
    """The tenant's ledger options."""

    precious_metals_enabled: bool = Field(
        description="Whether new ledger accounts may be opened in XAU, XAG, XPT or XPD."
    )
    updated_at: datetime | None = Field(
        default=None, description="Last change; null while every option is at its default."
    )


class LedgerSettingsUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"precious_metals_enabled": True}]}
    )

    precious_metals_enabled: bool = Field(
        description="Allow new ledger accounts in the precious metals (XAU, XAG, XPT, XPD)."
        " Turning it off refuses new metal accounts; existing ones keep working."
    )
