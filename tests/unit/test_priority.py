"""`--media-priority` (OUTDIAL_MEDIA_PRIORITY): what each setting asks the system for, and a
refusal that leaves the process running at normal priority."""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest

from outdial import priority
from outdial.priority import MediaPriority


def _record(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(os, "setpriority", lambda *a: calls.append(("nice", a)))
    monkeypatch.setattr(os, "sched_setscheduler", lambda *a: calls.append(("sched", a)))
    return calls


def test_each_setting_asks_for_its_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _record(monkeypatch)
    assert priority.apply(MediaPriority.NORMAL)
    assert calls == []
    assert priority.apply(MediaPriority.HIGH)
    reset = os.SCHED_RESET_ON_FORK  # what it starts runs at normal priority
    assert calls[0] == ("nice", (os.PRIO_PROCESS, 0, priority.NICE_HIGH))
    assert calls[1][1][1] == os.SCHED_OTHER | reset
    calls.clear()
    assert priority.apply(MediaPriority.REALTIME)
    ((kind, (pid, policy, param)),) = calls
    assert (kind, pid, policy, param.sched_priority) == ("sched", 0, os.SCHED_RR | reset, 10)


def test_a_refusal_is_logged_and_the_process_goes_on(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_: object) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    with caplog.at_level(logging.WARNING, logger="outdial.priority"):
        assert not priority.apply(MediaPriority.REALTIME)
    assert "realtime refused" in caplog.text


def test_the_cli_refuses_an_unknown_priority() -> None:
    from typer.testing import CliRunner

    from outdial.cli import app

    result = CliRunner().invoke(app, ["engine", "--media-priority", "urgent"])
    assert result.exit_code != 0
    assert "urgent" in result.output
