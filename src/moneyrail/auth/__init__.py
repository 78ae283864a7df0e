"""The permissions kernel: who is calling (`AuthSubject`), what each role may do, and the
dependencies every endpoint declares its permission with.

It depends on `core` only. Credential formats live with the domain that issues them
(identity), which registers a resolver for each here (`auth.credentials`); each domain
declares its typed permission aliases in its own `auth.py`.
"""
