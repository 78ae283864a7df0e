"""Core banking: branches, customers, bank accounts backed by the ledger, loans, statements."""
