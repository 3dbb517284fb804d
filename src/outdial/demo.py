"""`outdial demo`: a whole campaign on the embedded database, with live progress."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from dataclasses import replace
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from outdial.domain.models import Campaigncall, Target
from outdial.domain.netpolicy import NetworkPolicy
from outdial.runtime import Container, build_engine, open_container
from outdial.services.container import Services
from outdial.settings import Settings, SipSettings, TelephonyKind
from outdial.telephony.sip import SipAnsweringPeer

# One number per far-end behaviour of the test number plan, cycled over the targets.
PLAN = ["+15550", "+4865", "+4805", "+6035", "+5035", "+4085", "+1212", "+4420"]


def _numbers(count: int) -> list[list[dict[str, str]]]:
    out = []
    for i in range(count):
        first = f"{PLAN[i % len(PLAN)]}{i:07d}"
        dests = [{"type": "tel", "target": first}]
        if i % 3 == 1:  # some people have a second number, tried after the first runs out
            dests.append({"type": "tel", "target": f"+1646{i:07d}"})
        out.append(dests)
    return out


DEMO_NETWORKS = "127.0.0.0/8,::1/128"  # the demo's peers and receivers are all on loopback


async def demo(url: str, telephony: TelephonyKind, targets: int) -> dict[str, Any]:
    """`outdial demo`: the demo dials its own answering peer on loopback, so it opens
    loopback on purpose."""
    settings = Settings(
        database_url=url, telephony=telephony, network=NetworkPolicy.from_text(DEMO_NETWORKS)
    )
    async with open_container(settings) as c:
        return await run_demo(c, targets)


async def run_demo(c: Container, count: int) -> dict[str, Any]:
    services, settings = c.services, c.settings
    me = (await services.customers.create("demo")).id
    outplan = await services.outplans.create(
        me,
        {
            "name": "demo outplan",
            "source": {"type": "tel", "target": "+15559876543"},
            "dial_timeout": 2000,
            "try_interval": 1000,
            "max_try_count_0": 2,
            "max_try_count_1": 1,
        },
    )
    outdial = await services.outdials.create(me, {"name": "demo list"})
    await services.targets.create_many(
        me,
        outdial.id,
        [
            {"name": f"person {i + 1:03d}", **{f"destination_{n}": d for n, d in enumerate(dests)}}
            for i, dests in enumerate(_numbers(count))
        ],
    )
    campaign = await services.campaigns.create(
        me,
        {
            "name": "demo campaign",
            "outplan_id": str(outplan.id),
            "outdial_id": str(outdial.id),
            "calls_per_second": 20,
            "max_concurrent_calls": 20,
            "actions": _actions(),
        },
    )
    await services.campaigns.set_status(me, campaign.id, {"status": "run"})

    peer = None
    if settings.telephony is TelephonyKind.SIP:
        # A local far end that answers by the test number plan; it is the demo's SIP trunk.
        peer = SipAnsweringPeer(host="127.0.0.1", port=0, ring_ms=300)
        await peer.start()
        trunk = SipSettings(trunk=f"127.0.0.1:{peer.port}", bind="127.0.0.1:0")
        settings = replace(settings, sip=trunk)
    engine = build_engine(replace(c, settings=settings))
    stop = asyncio.Event()
    runner = asyncio.create_task(engine.run(stop))
    console = Console(file=sys.stderr)
    try:
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while True:
                targets, calls = await _state(services, me, outdial.id, campaign.id)
                status = (await services.campaigns.get(me, campaign.id)).status
                live.update(_progress(status, targets, calls))
                if status == "stop" or runner.done():
                    break
                await asyncio.sleep(0.25)
    finally:
        stop.set()
        await runner
        if peer is not None:
            await peer.stop()
    targets, calls = await _state(services, me, outdial.id, campaign.id)
    console.print(_final(targets, calls))
    audio = {} if peer is None else {"rtp_packets_heard": sum(peer.rtp_packets().values())}
    return {
        **audio,
        "campaign_id": str(campaign.id),
        "outdial_id": str(outdial.id),
        "targets": dict(Counter(str(t.status) for t in targets)),
        "attempts": len(calls),
        "results": dict(Counter(f"{c.result}/{c.hangup_reason}" for c in calls)),
        "telephony": settings.telephony.value,
    }


def _actions() -> list[dict[str, Any]]:
    """Speak a greeting when espeak-ng is here; otherwise a short silence stands in for it."""
    greeting = {"type": "talk", "option": {"text": "Hello from outdial.", "language": "en-US"}}
    pause = {"type": "sleep", "option": {"duration": 300}}
    return [greeting, pause] if shutil.which("espeak-ng") else [pause]


async def _state(
    services: Services, me: Any, outdial_id: Any, campaign_id: Any
) -> tuple[list[Target], list[Campaigncall]]:
    targets: list[Target] = []
    cursor = None
    while True:
        page = await services.targets.list(me, outdial_id, cursor, 100)
        targets += page.items
        if len(page.items) < 100:
            break
        cursor = page.cursor
    calls: list[Campaigncall] = []
    cursor = None
    while True:
        cpage = await services.campaigncalls.list(me, cursor, 100, campaign_id=campaign_id)
        calls += cpage.items
        if len(cpage.items) < 100:
            break
        cursor = cpage.cursor
    return targets, calls


def _progress(status: str, targets: list[Target], calls: list[Campaigncall]) -> Group:
    by_status = Counter(str(t.status) for t in targets)
    results = Counter(c.hangup_reason or "in flight" for c in calls)
    table = Table(title=f"campaign: {status}")
    table.add_column("targets")
    table.add_column("count", justify="right")
    for name in ("idle", "progressing", "done"):
        table.add_row(name, str(by_status.get(name, 0)))
    reasons = Table(title=f"attempts: {len(calls)}")
    reasons.add_column("hangup reason")
    reasons.add_column("count", justify="right")
    for name, n in sorted(results.items()):
        reasons.add_row(name, str(n))
    return Group(table, reasons)


def _final(targets: list[Target], calls: list[Campaigncall]) -> Table:
    per_target: dict[Any, list[Campaigncall]] = {}
    for call in sorted(calls, key=lambda c: c.tm_create):
        per_target.setdefault(call.outdial_target_id, []).append(call)
    table = Table(title="targets and results")
    for col in ("name", "status", "tries", "attempts (destination: reason)"):
        table.add_column(col)
    for t in sorted(targets, key=lambda t: t.name):
        tries = "/".join(str(n) for n, d in zip(t.try_counts, t.destinations, strict=True) if d)
        steps = ", ".join(
            f"{c.destination.target if c.destination else '?'}: {c.hangup_reason or '...'}"
            for c in per_target.get(t.id, [])
        )
        table.add_row(t.name, t.status, tries, steps)
    return table
