"""Issue 16 item 3: a host drops off the network. Two `outdial engine` processes, each in a
network namespace of its own (its own address and SIP socket), share one PostgreSQL cluster
and place real SIP calls to an answering peer on this machine. Mid-campaign one host's link is
cut: its engine's leases expire, the other engine recovers its attempts as `lost` exactly once
and carries on; when the link is back the cut engine finds itself fenced, hangs up, rejoins
under a new id, and its late writes change none of the recovered rows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from outdial.storage.db import Database
from outdial.storage.tables import campaigncalls, engines
from outdial.telephony.sip import SipAnsweringPeer
from tests.acceptance.server import OUTDIAL, Server, cli
from tests.faults.netns import NetHosts, need_netns
from tests.faults.pgcluster import Cluster, need_cluster
from tests.integration.invariants import check_invariants

CC = campaigncalls


@pytest.fixture
def net() -> Iterator[NetHosts]:
    need_netns()
    hosts = NetHosts(2)
    try:
        yield hosts
    finally:
        hosts.remove()


@pytest.fixture
def cluster(net: NetHosts) -> Iterator[Cluster]:
    need_cluster()
    c = Cluster(listen=("127.0.0.1", *(h.gateway for h in net.hosts)), trust=net.networks)
    try:
        c.start()
        yield c
    finally:
        c.destroy()


class Peers:
    """An answering SIP peer on this machine's end of each host's link, in a thread."""

    def __init__(self, addresses: list[str]) -> None:
        self.ports: list[int] = []
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(addresses),))
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the SIP peers did not start")

    async def _main(self, addresses: list[str]) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        peers = [SipAnsweringPeer(host=a, port=0, ring_ms=100) for a in addresses]
        try:
            for peer in peers:
                await peer.start()
            self.ports = [p.port for p in peers]
            self._ready.set()
            await self._stop.wait()
        finally:
            for peer in peers:
                await peer.stop()

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


def _wait(check: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds  # a wait for progress, not a bound on speed
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _query(url: str, stmt: Any) -> list[Any]:
    async def run() -> list[Any]:
        db = Database(url)
        try:
            async with db.read() as conn:
                return list((await conn.execute(stmt)).all())
        finally:
            await db.dispose()

    return asyncio.run(run())


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_host_drops_off_the_network_and_comes_back_fenced(
    net: NetHosts, cluster: Cluster, tmp_path: Path
) -> None:
    url = cluster.url
    cli("migrate", "--database-url", url)
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(url, tmp_path / "serve.log", "--no-engine", "--telephony", "sim")
    peers = Peers([h.gateway for h in net.hosts])
    procs: list[subprocess.Popen[bytes]] = []
    logs = [tmp_path / "engine-a.log", tmp_path / "engine-b.log"]
    api = httpx.Client(base_url=f"{server.url}/v1.0", params={"token": key["token"]}, timeout=10)
    try:
        for host, port, log in zip(net.hosts, peers.ports, logs, strict=True):
            engine_url = f"postgresql://postgres@{host.gateway}:{cluster.port}/postgres"
            cmd = host.exec(
                OUTDIAL, "engine", "--database-url", engine_url, "--telephony", "sip",
                "--heartbeat", "0.5", "--stale-after", "3", "--no-webhooks",
            )  # fmt: skip
            # a transaction the cut engine left open stalls the other for 5 s at most
            env = {"OUTDIAL_SIP_TRUNK": f"{host.gateway}:{port}",
                   "OUTDIAL_SIP_BIND": f"{host.address}:0",
                   "OUTDIAL_DATABASE_IDLE_TX_TIMEOUT": "5"}  # fmt: skip
            with log.open("ab") as out:
                procs.append(subprocess.Popen(
                    cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                    env={**os.environ, **env},
                ))  # fmt: skip
        pids = [p.pid for p in procs]

        def registered() -> dict[int, str]:
            rows = _query(url, sa.select(engines.c.id, engines.c.pid))
            found = {r.pid: r.id for r in rows if r.pid in pids}
            return found if len(found) == 2 else {}

        ids = _wait(registered, 60, "both engines to register")
        cut_id, other_id = ids[pids[0]], ids[pids[1]]

        plan = api.post(
            "/outplans",
            json={"source": {"type": "tel", "target": "+15559876543"}, "dial_timeout": 5000,
                  "try_interval": 500, "max_try_count_0": 3},
        ).json()  # fmt: skip
        outdial = api.post("/outdials", json={"name": "list"}).json()
        numbers = [f"+1555{i:07d}" for i in range(160)]
        r = api.post(
            f"/outdials/{outdial['id']}/targets_bulk",
            json=[{"destination_0": {"type": "tel", "target": n}} for n in numbers],
        )
        assert r.status_code == 200, r.text
        campaign = api.post(
            "/campaigns",
            json={"name": "c", "end_handle": "stop", "outplan_id": plan["id"],
                  "outdial_id": outdial["id"], "calls_per_second": 8,
                  "max_concurrent_calls": 24,
                  "actions": [{"type": "sleep", "option": {"duration": 3000}}]},
        ).json()  # fmt: skip
        assert api.put(f"/campaigns/{campaign['id']}/status", json={"status": "run"}).is_success

        def open_calls(engine_id: str) -> list[Any]:
            return _query(url, sa.select(CC.c.id).where(CC.c.engine_id == engine_id,
                                                        CC.c.status != "done"))  # fmt: skip

        _wait(lambda: len(open_calls(cut_id)) >= 2, 60, "calls in flight on the host to cut")
        net.hosts[0].cut()
        cut_at = time.monotonic()
        # Its leases expire: the other engine recovers every open attempt of it, once.
        _wait(lambda: not open_calls(cut_id), 40, "the cut engine's attempts to be recovered")
        recovered = _query(url, sa.select(CC).where(CC.c.engine_id == cut_id,
                                                    CC.c.hangup_reason == "lost"))  # fmt: skip
        assert recovered, "nothing was recovered"
        assert {r.ended_by for r in recovered} == {other_id}
        # ... and carries on alone while the host is away
        carried = len(_query(url, sa.select(CC.c.id).where(CC.c.engine_id == other_id)))
        _wait(
            lambda: (
                len(_query(url, sa.select(CC.c.id).where(CC.c.engine_id == other_id)))
                >= carried + 3
            ),
            40,
            "the other engine to go on dialing",
        )
        time.sleep(max(0.0, 12.0 - (time.monotonic() - cut_at)))
        net.hosts[0].restore()

        cut_log = logs[0]
        _wait(lambda: f"engine {cut_id} lost its leases" in cut_log.read_text(), 90,
              "the cut engine to notice it was fenced")  # fmt: skip
        _wait(lambda: api.get(f"/campaigns/{campaign['id']}").json()["status"] == "stop", 150,
              "the campaign to finish")  # fmt: skip
        assert all(p.poll() is None for p in procs), "an engine exited"
    finally:
        api.close()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        server.stop()
        peers.close()

    text = cut_log.read_text()
    # its late writes were refused by the fence, and said so
    assert f"attempt writes of engine {cut_id}" in text, text[-3000:]
    # The recovered rows are as the other engine wrote them: the cut engine changed nothing.
    after = {
        r.id: r for r in _query(url, sa.select(CC).where(CC.c.id.in_([r.id for r in recovered])))
    }
    for row in recovered:
        assert tuple(after[row.id]) == tuple(row), row.id
    # The cut engine rejoined under a new id; no attempt is open, none overlapped, the try
    # counts equal the attempts, in_flight is back to 0 (no slot was given back twice).
    rejoined = _query(
        url, sa.select(engines.c.id, engines.c.fenced).where(engines.c.id.like(f"{cut_id}.%"))
    )
    assert [(r.id, r.fenced) for r in rejoined] == [(f"{cut_id}.2", None)]  # live, once

    async def check() -> dict:
        db = Database(url)
        try:
            return await check_invariants(db, uuid.UUID(outdial["id"]), uuid.UUID(campaign["id"]))
        finally:
            await db.dispose()

    counts = asyncio.run(check())
    assert counts["targets"] == counts["done"] == 160
    lost = _query(url, sa.select(CC).where(CC.c.hangup_reason == "lost"))
    assert all(r.ended_by != r.engine_id for r in lost if r.engine_id == cut_id)
