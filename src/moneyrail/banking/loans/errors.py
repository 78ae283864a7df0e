"""Errors of loans."""

from __future__ import annotations

from moneyrail.core.errors import Forbidden, NotFound, Unprocessable


class LoanNotFound(NotFound):
    code = "loan_not_found"
    title = "Loan not found"


class InvalidLoanTerms(Unprocessable):
    code = "invalid_loan_terms"
    title = "Invalid loan terms"


class InvalidLoanStatus(Unprocessable):
    code = "invalid_loan_status"
    title = "The loan is not in a state that allows this"


class MakerCheckerViolation(Forbidden):
    code = "maker_checker_violation"
    title = "The creator of a loan cannot decide on it"


class RepaymentExceedsOutstanding(Unprocessable):
    code = "repayment_exceeds_outstanding"
    title = "Repayment exceeds the amount outstanding"


# --- shared helpers ----------------------------------------------------------------------------
