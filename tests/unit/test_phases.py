"""The phases of scripts/test.sh (docs/testing.md): a test's phase follows from its directory
and the `serial` marker, and every test is in exactly one phase."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.conftest import PARALLEL_DIRS, TESTS_DIR, in_parallel_phase


class _Item:
    def __init__(self, path: Path, *markers: str) -> None:
        self.path = path
        self.markers = markers

    def get_closest_marker(self, name: str) -> Any:
        return pytest.mark.serial if name in self.markers else None


def test_this_test_is_in_the_parallel_phase(request: pytest.FixtureRequest) -> None:
    assert in_parallel_phase(request.node)


@pytest.mark.serial
def test_the_serial_marker_moves_a_test_out_of_a_parallel_directory(
    request: pytest.FixtureRequest,
) -> None:
    assert not in_parallel_phase(request.node)


@pytest.mark.parametrize("directory", sorted(p.name for p in TESTS_DIR.iterdir() if p.is_dir()))
def test_a_directory_is_parallel_only_when_listed(directory: str) -> None:
    item: Any = _Item(TESTS_DIR / directory / "test_x.py")
    assert in_parallel_phase(item) == (directory in PARALLEL_DIRS)
    marked: Any = _Item(TESTS_DIR / directory / "test_x.py", "serial")
    assert not in_parallel_phase(marked)


def test_the_fault_tests_are_serial() -> None:
    """They crash a PostgreSQL cluster, cut a host off the network, fill a disk: not beside
    another test (docs/testing.md)."""
    assert "faults" not in PARALLEL_DIRS


def test_a_file_outside_tests_is_serial() -> None:
    item: Any = _Item(TESTS_DIR.parent / "benchmarks" / "test_x.py")
    assert not in_parallel_phase(item)
