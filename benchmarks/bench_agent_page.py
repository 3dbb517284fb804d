"""Benchmark: what one agent page costs the server (issue 14, the agent page).

The page polls: every `poll_ms` (1.5 s by default) it asks `GET /v1.0/agents/{id}` and
`GET /v1.0/agents/{id}/campaigncalls?active=1`, and, while a call waits for its disposition,
`GET /v1.0/campaigncalls/{id}/context`. This measures the server's CPU time (process_time,
not wall-clock: the machine is shared) per poll through the real app over httpx's ASGI
transport on SQLite, with the agent's session cookie (which adds the session look-up and the
least-privilege check), and the same three reads with an access key for comparison. From the
CPU per poll it derives how many agents polling every 1.5 s one core serves.

    python -m benchmarks.bench_agent_page --polls 300 --history 20
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from outdial.api.app import create_app
from outdial.clock import SystemClock
from outdial.domain.ids import new_id
from outdial.services.container import Services
from outdial.storage.db import Database
from outdial.storage.migrate import upgrade
from outdial.storage.tables import campaigncalls

try:  # as bench_api: keep httpx's failed `import sniffio` out of the figures
    import sniffio  # noqa: F401
except ImportError:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

TEL = {"type": "tel", "target": "+15550100001"}


async def _setup(url: str, history: int) -> tuple[Services, str, str, str]:
    db = Database(url)
    await upgrade(db)
    services = Services.build(db, SystemClock())
    customer = await services.customers.create("bench")
    _, token = await services.customers.create_accesskey(customer.id, "bench")
    s, c = services, customer.id
    agent = await s.agents.create(c, {"username": "ann", "password": "bench secret 1", "name": "A"})
    od = await s.outdials.create(c, {"name": "o"})
    plan = await s.outplans.create(c, {"source": TEL})
    campaign = await s.campaigns.create(
        c, {"outdial_id": str(od.id), "outplan_id": str(plan.id), "dispositions": ["sale"]}
    )
    target = await s.targets.create(c, od.id, {"name": "Carol", "destination_0": TEL})
    now = s.ctx.now_us()
    call_id = ""
    async with db.write() as conn:
        for n in range(history + 1):  # the target's earlier calls, then the connected one
            cid = new_id()
            call_id = str(cid)
            await conn.execute(
                sa.insert(campaigncalls).values(
                    id=cid, customer_id=c, campaign_id=campaign.id, outplan_id=plan.id,
                    outdial_id=od.id, outdial_target_id=target.id, queue_id=new_id(),
                    activeflow_id=new_id(), flow_id=new_id(), reference_type="call",
                    reference_id=new_id(), status="done", result="success", source=None,
                    destination='{"type":"tel","target":"+15550100001"}', destination_index=0,
                    try_count=1, hangup_reason="normal", sip_code=200, lease_expires=None,
                    engine_id="", tm_create=now - (history - n) * 1000, tm_update=now,
                    tm_delete=None, agent_id=agent.id if n == history else None,
                    disposition="" if n == history else "sale",
                )
            )  # fmt: skip
    return services, token, str(agent.id), call_id


async def _measure(url: str, polls: int, history: int) -> dict[str, float]:
    services, token, agent_id, call_id = await _setup(url, history)
    app = create_app(services)
    app.state.ready = True
    paths = [
        f"/v1.0/agents/{agent_id}",
        f"/v1.0/agents/{agent_id}/campaigncalls?active=1&page_size=5",
        f"/v1.0/campaigncalls/{call_id}/context",
    ]
    out: dict[str, float] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        login = await client.post(
            "/v1.0/login", json={"kind": "agent", "username": "ann", "password": "bench secret 1"}
        )
        assert login.status_code == 200, login.text
        cookie = {"Cookie": f"outdial_session={login.cookies['outdial_session']}"}
        key = {"Authorization": f"Bearer {token}"}
        for name, headers in (("agent session", cookie), ("access key", key)) * 2:
            for path in paths:  # warm up
                assert (await client.get(path, headers=headers)).status_code == 200
            cpu = time.process_time()
            for _ in range(polls):
                for path in paths:
                    r = await client.get(path, headers=headers)
                    assert r.status_code == 200, r.text
            out[name] = (time.process_time() - cpu) / polls  # the second round is kept
    await services.ctx.db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=300)
    parser.add_argument("--history", type=int, default=20, help="the target's earlier calls")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        got: dict[str, Any] = asyncio.run(_measure(url, args.polls, args.history))
    print(f"SQLite, {args.polls} polls of 3 requests, a call with {args.history} earlier calls")
    print("credential      CPU ms per poll (3 requests)   agents per core at one poll per 1.5 s")
    for name, seconds in got.items():
        print(f"{name:15} {seconds * 1000:10.2f} {1.5 / seconds:33.0f}")
    ratio = got["agent session"] / got["access key"]
    print(f"agent session / access key CPU: {ratio:.2f}")


if __name__ == "__main__":
    main()
