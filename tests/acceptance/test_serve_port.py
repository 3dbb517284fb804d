"""`outdial serve` on a port someone else holds: a clear error at start, not a hang."""

from __future__ import annotations

import json
import socket
import subprocess

from tests.acceptance.server import OUTDIAL


def test_serve_on_a_taken_port_fails_at_start(sqlite_database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cmd = [OUTDIAL, "serve", "--port", str(port), "--database-url", sqlite_database_url]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr[-2000:]
    error = json.loads(result.stdout)["error"]
    assert error["reason"] == "LISTEN_ADDRESS_UNUSABLE" and str(port) in error["message"]
