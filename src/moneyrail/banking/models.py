"""Every banking table, gathered from the sub-domains so Alembic and the tests see them all.

Balances are never stored in banking: the ledger owns every balance. Every table is keyed by
`tenant_id` first and foreign keys stay inside one tenant.
"""

from __future__ import annotations

from moneyrail.banking.accounts.models import AccountNumberSequence, BankAccount, BankTransaction
from moneyrail.banking.branches.models import Branch
from moneyrail.banking.customers.models import CUSTOMER_SEARCH_TEXT, Customer
from moneyrail.banking.interest.models import InterestAccrual, InterestCredit
from moneyrail.banking.loans.models import Loan, LoanInstallment, LoanRepayment
from moneyrail.banking.settings.models import BankSettings

__all__ = [
    "CUSTOMER_SEARCH_TEXT",
    "AccountNumberSequence",
    "BankAccount",
    "BankSettings",
    "BankTransaction",
    "Branch",
    "Customer",
    "InterestAccrual",
    "InterestCredit",
    "Loan",
    "LoanInstallment",
    "LoanRepayment",
]
