"""Use cases: validate, call repositories, own the transaction."""
