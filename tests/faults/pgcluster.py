"""A throwaway PostgreSQL cluster that a test starts, stops (`pg_ctl -m immediate`, as a crash
or failover does) and starts again, as `scripts/test.sh`'s start_cluster does."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in
                   p.split("/")[-2].split(".") if x.isdigit()])  # fmt: skip
    return found[-1] if found else None


def available() -> str:
    """Why no cluster can be started here ("" when one can)."""
    if _pg_bin() is None:
        return "no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting a cluster needs root (runuser -u postgres)"
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return "no postgres user"
    return ""


def need_cluster() -> None:
    why = available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must be able to start a PostgreSQL cluster: {why}")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(
        self, listen: tuple[str, ...] = ("127.0.0.1",), trust: tuple[str, ...] = ()
    ) -> None:
        """`listen`: the addresses it listens on; `trust`: more client networks (CIDR) let in
        without a password (initdb's own rules let in loopback only)."""
        self.listen = listen
        self.bin = _pg_bin() or ""
        self.dir = Path(tempfile.mkdtemp(prefix="outdial-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.port = 0
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync")  # fmt: skip
        if trust:
            with (self.data / "pg_hba.conf").open("a") as hba:
                hba.writelines(f"host all all {net} trust\n" for net in trust)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", "postgres", "--", f"{self.bin}/{tool}", *args],
            cwd="/", capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip

    def start(self) -> None:
        """Start (again) on the same port; the first start picks a free one."""
        for _ in range(10):
            port = self.port or _free_port()
            options = (
                f"-p {port} -k {self.dir} -c listen_addresses={','.join(self.listen)} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            try:
                self._as_postgres("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"),
                                  "-w", "-t", "60", "-o", options, "start")  # fmt: skip
            except subprocess.CalledProcessError:
                if self.port:  # a restart must keep its port
                    raise
                continue
            self.port = port
            return
        raise RuntimeError(f"could not start PostgreSQL: {(self.dir / 'log').read_text()[-500:]}")

    def crash(self) -> None:
        """`pg_ctl -m immediate stop`: every connection drops at once, as in a crash."""
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.crash()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
