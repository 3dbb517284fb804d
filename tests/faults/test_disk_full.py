"""Issue 16 item 4 (disk full): the SQLite file on a small tmpfs that fills up. Writes are
answered 503 `UNAVAILABLE` / `STORAGE_FULL` with Retry-After (never a 500), reads go on,
nothing is corrupted, and writes work again once space returns."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.clock import SystemClock
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must be able to mount a tmpfs (root)")
        pytest.skip("mounting a tmpfs needs root")
    where = tmp_path / "disk"
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(where: Path) -> Path:
    """Take every free byte of the file system; returns the filler file."""
    filler = where / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    with contextlib.suppress(OSError), (where / "probe").open("wb", buffering=0) as probe:
        probe.write(b"x" * 4096)
        raise AssertionError("the disk is not full")
    return filler


async def test_disk_full_answers_503_and_recovers(small_disk: Path) -> None:
    db = Database(f"sqlite:///{small_disk / 'outdial.db'}")
    await upgrade(db)
    services = Services.build(db, SystemClock())
    customer = await services.customers.create("acme")
    _, key = await services.customers.create_accesskey(customer.id, "test")
    app = create_app(services)
    app.state.ready = True
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", params={"token": key}
    )
    try:
        first = await client.post("/v1.0/outdials", json={"name": "before"})
        assert first.status_code == 200, first.text
        filler = _fill(small_disk)
        statuses = []
        for n in range(200):  # until a write needs a page the disk does not have
            r = await client.post("/v1.0/outdials", json={"name": f"n{n}", "detail": "x" * 60000})
            statuses.append(r.status_code)
            if r.status_code != 200:
                break
        assert statuses[-1] == 503, statuses
        error = r.json()["error"]
        assert (error["status"], error["reason"]) == ("UNAVAILABLE", "STORAGE_FULL")
        assert int(r.headers["Retry-After"]) >= 1
        read = await client.get(f"/v1.0/outdials/{first.json()['id']}")
        assert read.status_code == 200  # reads go on
        filler.unlink()  # space returns
        again = await client.post("/v1.0/outdials", json={"name": "after"})
        assert again.status_code == 200, again.text
        async with db.query() as conn:
            assert (await conn.execute(sa.text("PRAGMA integrity_check"))).scalar() == "ok"
    finally:
        await client.aclose()
        await db.dispose()
