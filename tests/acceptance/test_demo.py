"""`outdial demo` runs a whole campaign over real SIP on loopback, and bad SIP settings fail
clearly at start."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.server import OUTDIAL


@pytest.mark.slow
def test_demo_over_real_sip(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    out = subprocess.run(
        [OUTDIAL, "demo", "--targets", "16", "--database-url", db],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    summary = json.loads(out.stdout)
    assert summary["telephony"] == "sip"
    assert summary["targets"] == {"done": 16}
    results = summary["results"]
    for outcome in ("success/normal", "fail/busy", "fail/noanswer", "fail/failed", "fail/dialout"):
        assert results.get(outcome, 0) > 0, (outcome, results)
    assert summary["rtp_packets_heard"] > 0  # audio reached the far end
    assert "targets and results" in out.stderr  # the final table


def test_unusable_sip_settings_fail_at_start(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"
    bad = subprocess.run(
        [
            OUTDIAL,
            "engine",
            "--database-url",
            db,
            "--telephony",
            "sip",
            "--sip-trunk",
            "nohost:99999",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    error = json.loads(bad.stdout)["error"]
    assert "OUTDIAL_SIP_TRUNK" in error["message"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        bad_bind = subprocess.run(
            [
                OUTDIAL,
                "engine",
                "--database-url",
                db,
                "--telephony",
                "sip",
                "--sip-bind",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert bad_bind.returncode == 2, bad_bind.stderr[-2000:]
    assert "cannot start" in json.loads(bad_bind.stdout)["error"]["message"]
