"""Under CI=true a machine that lacks PostgreSQL, SIPp, Kamailio, espeak-ng, sox or Chromium
fails the run (tests/toolcheck.py, checked in tests/conftest.py): it must not pass by skipping.

Each case runs pytest on a small test file in a child process with CI=true and pieces taken
away (PATH without a tool, a Chromium path that does not exist, a PostgreSQL URL that nothing
answers), and expects a failed run that names what is missing and runs no test; the control
run, with nothing taken away, passes. (A child pytest takes several seconds to start on a
loaded machine, so the cases are few: sox alone, then all six at once, each named.)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import toolcheck
from tests.conftest import PG_URL

ROOT = Path(__file__).resolve().parents[2]
PROBE = "tests/unit/test_codec.py"  # any small, quick test file


def _child(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    argv += ["-p", "no:hypothesispytest", "-p", "no:schemathesis"]  # faster start; unused here
    return subprocess.run(
        [*argv, PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def _path_without(tools: set[str], tmp_path: Path) -> str:
    """A PATH holding every required tool but `tools` (links to the machine's own)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in toolcheck.BINARIES:
        found = shutil.which(name)
        if name not in tools and found is not None:
            (bin_dir / name).symlink_to(found)
    return str(bin_dir)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens


@pytest.fixture
def ci_env() -> dict[str, str]:
    return {**os.environ, "CI": "true", "OUTDIAL_TEST_PG_URL": PG_URL}


def _assert_refused(run: subprocess.CompletedProcess[str], *named: str) -> None:
    assert run.returncode != 0, run.stdout[-2000:]
    assert "lacks what the suite needs" in run.stdout, run.stdout[-2000:]
    for what in named:
        assert what in run.stdout, (what, run.stdout[-2000:])
    assert " passed" not in run.stdout  # no test ran


@pytest.mark.slow
def test_missing_sox_fails_the_ci_run(ci_env: dict[str, str], tmp_path: Path) -> None:
    run = _child({**ci_env, "PATH": _path_without({"sox"}, tmp_path)})
    _assert_refused(run, "sox is not on PATH")
    assert "sipp is not on PATH" not in run.stdout or shutil.which("sipp") is None


@pytest.mark.slow
def test_every_missing_piece_is_named(ci_env: dict[str, str], tmp_path: Path) -> None:
    no_browser = tmp_path / "no-chromium"
    env = {
        **ci_env,
        "PATH": _path_without(set(toolcheck.BINARIES), tmp_path),
        "OUTDIAL_TEST_CHROMIUM": str(no_browser),
        "OUTDIAL_TEST_PG_URL": f"postgresql://postgres@127.0.0.1:{_closed_port()}/postgres",
    }
    named = [f"{tool} is not on PATH" for tool in toolcheck.BINARIES]
    _assert_refused(_child(env), *named, f"{no_browser} not installed", "PostgreSQL is not")


@pytest.mark.slow
def test_the_same_run_passes_with_everything_present(ci_env: dict[str, str]) -> None:
    lacking = toolcheck.missing(PG_URL)
    if lacking:
        pytest.skip(f"this machine lacks {lacking}, so the control run cannot pass here")
    run = _child(ci_env)
    assert run.returncode == 0, run.stdout[-2000:]
    assert " passed" in run.stdout
