"""Banking's face to other domains: the services of its sub-domains and their errors.

Banking is split into sub-domains, each a folder with its own models, schemas, repository,
service and api: `branches/`, `customers/`, `accounts/` (accounts and money movements),
`loans/` (loans, amortization), `interest/` (the savings interest job), `reports/`
(statements and the daily summary) and `settings/`. Other domains import from here only;
no sub-domain imports this module.
"""

from __future__ import annotations

from moneyrail.banking.accounts.errors import (
    AccountBalanceNotZero,
    AccountClosed,
    AccountFrozen,
    AccountNotFound,
    AccountNumbersExhausted,
    InvalidStatusTransition,
    OverdraftNotAllowed,
    SameAccountTransfer,
)
from moneyrail.banking.accounts.movements import movements
from moneyrail.banking.accounts.service import accounts
from moneyrail.banking.branches.service import BranchExists, BranchNotFound, branches
from moneyrail.banking.customers.service import (
    CustomerExists,
    CustomerNotActive,
    CustomerNotFound,
    customers,
)
from moneyrail.banking.interest.service import interest
from moneyrail.banking.loans.errors import (
    InvalidLoanStatus,
    InvalidLoanTerms,
    LoanNotFound,
    MakerCheckerViolation,
    RepaymentExceedsOutstanding,
)
from moneyrail.banking.loans.service import loans
from moneyrail.banking.loans.views import loan_views
from moneyrail.banking.reports.service import InvalidStatementRange, StatementTooLarge, reports
from moneyrail.banking.settings.service import bank_settings

__all__ = [
    "AccountBalanceNotZero",
    "AccountClosed",
    "AccountFrozen",
    "AccountNotFound",
    "AccountNumbersExhausted",
    "BranchExists",
    "BranchNotFound",
    "CustomerExists",
    "CustomerNotActive",
    "CustomerNotFound",
    "InvalidLoanStatus",
    "InvalidLoanTerms",
    "InvalidStatementRange",
    "InvalidStatusTransition",
    "LoanNotFound",
    "MakerCheckerViolation",
    "OverdraftNotAllowed",
    "RepaymentExceedsOutstanding",
    "SameAccountTransfer",
    "StatementTooLarge",
    "accounts",
    "bank_settings",
    "branches",
    "customers",
    "interest",
    "loan_views",
    "loans",
    "movements",
    "reports",
]
