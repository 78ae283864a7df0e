"""Errors of bank accounts and their movements."""

from __future__ import annotations

from moneyrail.core.errors import Conflict, NotFound, Unprocessable


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Bank account not found"


class AccountFrozen(Unprocessable):
    code = "account_frozen"
    title = "The account is frozen"


class AccountClosed(Unprocessable):
    code = "account_closed"
    title = "The account is closed"


class AccountBalanceNotZero(Unprocessable):
    code = "account_balance_not_zero"
    title = "The account balance is not zero"


class InvalidStatusTransition(Unprocessable):
    code = "invalid_status_transition"
    title = "Status change not allowed"


class SameAccountTransfer(Unprocessable):
    code = "same_account_transfer"
    title = "Source and destination are the same account"


class OverdraftNotAllowed(Unprocessable):
    code = "overdraft_not_allowed"
    title = "Overdraft not allowed for this account type"


class AccountNumbersExhausted(Conflict):
    code = "account_numbers_exhausted"
    title = "No account numbers left today"
