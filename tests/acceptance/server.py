"""Run `outdial serve` as a real process on loopback port 0 (the server binds any free port and
logs it; the helper reads it back, so no port is picked here and bound later by someone else)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

OUTDIAL = str(Path(sys.executable).with_name("outdial"))


SERVING = re.compile(rb"outdial serving on http://127\.0\.0\.1:([0-9]+)")


def cli(*args: str) -> dict:
    out = subprocess.run([OUTDIAL, *args], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)


class Server:
    def __init__(self, database_url: str, log: Path, *extra: str) -> None:
        self.port = 0
        self.url = ""
        self.log = log
        cmd = [OUTDIAL, "serve", "--port", "0", "--database-url", database_url, *extra]
        start = log.stat().st_size if log.exists() else 0
        with log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30  # a wait for start-up, not a bound on speed
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"outdial serve exited: {log.read_text()[-2000:]}")
            if not self.port:
                found = SERVING.search(log.read_bytes()[start:])
                if found:
                    self.port = int(found.group(1))
                    self.url = f"http://127.0.0.1:{self.port}"
            if self.port:
                try:
                    with httpx.Client(timeout=1) as probe:
                        if probe.get(f"{self.url}/health").status_code == 200:
                            return
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError(f"outdial serve did not become healthy: {log.read_text()[-2000:]}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(60)
