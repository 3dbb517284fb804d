"""Run `outdial serve` as a real process on a free loopback port."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

OUTDIAL = str(Path(sys.executable).with_name("outdial"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str) -> dict:
    out = subprocess.run([OUTDIAL, *args], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


class Server:
    def __init__(self, database_url: str, log: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        cmd = [OUTDIAL, "serve", "--port", str(self.port), "--database-url", database_url, *extra]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"outdial serve exited: {log.read_text()[-2000:]}")
            try:
                with httpx.Client(timeout=1) as probe:
                    if probe.get(f"{self.url}/health").status_code == 200:
                        return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError("outdial serve did not become healthy")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)
