"""The ledger's domain errors, each with a stable code and HTTP status."""

from __future__ import annotations

from moneyrail.core.errors import Conflict, NotFound, Unprocessable

# Raised by the ledger too; re-exported so callers find every ledger error here.
from moneyrail.core.money import CurrencyMismatch as CurrencyMismatch
from moneyrail.core.money import InvalidAmount as InvalidAmount
from moneyrail.core.money import UnknownCurrency as UnknownCurrency


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Ledger account not found"


class TransferNotFound(NotFound):
    code = "transfer_not_found"
    title = "Transfer not found"


class AccountCodeExists(Conflict):
    code = "account_code_exists"
    title = "An account with this code exists"


class InsufficientFunds(Unprocessable):
    code = "insufficient_funds"
    title = "Insufficient funds"


class BalanceOutOfRange(Unprocessable):
    code = "balance_out_of_range"
    title = "The result would exceed the ledger's balance bound"


class InvalidBalanceLimit(Unprocessable):
    code = "invalid_balance_limit"
    title = "Invalid balance limit"


class SameAccount(Unprocessable):
    code = "same_account"
    title = "Debit and credit accounts are the same"


class EntryUnbalanced(Unprocessable):
    code = "entry_unbalanced"
    title = "Entry does not balance"


class InvalidLedgerId(Unprocessable):
    code = "invalid_ledger_id"
    title = "Invalid transfer or entry id"


class InvalidTimeout(Unprocessable):
    code = "invalid_timeout"
    title = "Invalid timeout"


class TransferExistsWithDifferentFields(Conflict):
    code = "transfer_exists_with_different_fields"
    title = "A transfer with this id exists with different fields"


class TransferNotPending(Unprocessable):
    code = "transfer_not_pending"
    title = "Transfer is not pending"


class PendingAlreadyPosted(Conflict):
    code = "pending_transfer_already_posted"
    title = "Pending transfer already posted"


class PendingAlreadyVoided(Conflict):
    code = "pending_transfer_already_voided"
    title = "Pending transfer already voided"


class PendingExpired(Conflict):
    code = "pending_transfer_expired"
    title = "Pending transfer expired"


class PostAmountExceedsPending(Unprocessable):
    code = "post_amount_exceeds_pending"
    title = "Amount exceeds the pending amount"


class TransferNotReversible(Unprocessable):
    code = "transfer_not_reversible"
    title = "Transfer cannot be reversed"


class TransferAlreadyReversed(Conflict):
    code = "transfer_already_reversed"
    title = "Transfer already reversed"


class LedgerContention(Conflict):
    code = "ledger_contention"
    title = "The ledger is busy; retry the request"


class CurrencyNotEnabled(Unprocessable):
    code = "currency_not_enabled"
    title = "Currency not enabled for this tenant"
