"""Double-entry ledger: accounts, transfers, holds, entries and reports."""
