"""Persistence: tables, repositories (which never commit), the atomic claim, migrations."""
