"""What the suite needs from the machine, and the CI rule (README, "Tests").

Locally, a test whose tool is missing skips and says why (`-rs` prints the reason). Under
`CI=true` nothing may be missing: `tests/conftest.py` checks this list when the session starts
and ends the run with a failure naming every missing piece, before any test runs, so a CI
machine without (say) sox can never pass by skipping.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

# Command-line tools found on PATH (the Debian packages: sip-tester, kamailio, espeak-ng, sox).
BINARIES = ("sipp", "kamailio", "espeak-ng", "sox")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def chromium_path() -> str:
    """Debian's Chromium, which Playwright drives (never a downloaded browser build)."""
    return os.environ.get("OUTDIAL_TEST_CHROMIUM", "/usr/bin/chromium")


def browser_problem() -> str | None:
    if not Path(chromium_path()).exists():
        return f"{chromium_path()} not installed (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright not installed (pip install playwright)"
    return None


def postgres_problem(url: str) -> str | None:
    """None when PostgreSQL answers at `url`, else why not."""

    async def probe() -> str | None:
        import asyncpg

        try:
            conn = await asyncpg.connect(url.replace("postgresql://", "postgres://"), timeout=3)
        except Exception as exc:  # any failure means "not available here"
            return f"{type(exc).__name__}: {exc}"
        await conn.close()
        return None

    return asyncio.run(probe())


def missing(pg_url: str) -> list[str]:
    """Every required piece this machine lacks, one line each (empty: all present)."""
    problems = [f"{name} is not on PATH" for name in BINARIES if shutil.which(name) is None]
    browser = browser_problem()
    if browser is not None:
        problems.append(browser)
    pg = postgres_problem(pg_url)
    if pg is not None:
        problems.append(f"PostgreSQL is not reachable at {pg_url}: {pg}")
    return problems
