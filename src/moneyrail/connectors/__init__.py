"""One module per external provider: an async client of its real API and its webhook verifier."""
