"""Agent permission bits (issue 13/14): the pure rule of what an agent session may do."""

from __future__ import annotations

import uuid

import pytest

from outdial.domain.agent_sessions import (
    PERMISSION_ALL,
    PERMISSION_CUSTOMER_ADMIN,
    PERMISSION_CUSTOMER_AGENT,
    PERMISSION_CUSTOMER_MANAGER,
    Grant,
    Level,
    agent_grant,
    agents_event,
    level_of,
)

# fixed ids: they appear in the parametrized test ids, which every xdist worker must collect alike
ME = uuid.UUID("9f1c2a3e-0000-4000-8000-000000000001")
THEM = uuid.UUID("9f1c2a3e-0000-4000-8000-000000000002")


@pytest.mark.parametrize(
    ("bits", "level"),
    [
        (0, Level.AGENT),
        (PERMISSION_CUSTOMER_AGENT, Level.AGENT),
        (0x000F, Level.AGENT),  # project bits: no project level here
        (0x0080, Level.AGENT),  # reserved
        (PERMISSION_CUSTOMER_MANAGER, Level.MANAGER),
        (PERMISSION_CUSTOMER_MANAGER | PERMISSION_CUSTOMER_AGENT, Level.MANAGER),
        (PERMISSION_CUSTOMER_ADMIN, Level.ADMIN),
        (PERMISSION_CUSTOMER_ADMIN | PERMISSION_CUSTOMER_MANAGER, Level.ADMIN),
        (PERMISSION_ALL, Level.ADMIN),
        (0x00F0, Level.ADMIN),
    ],
)
def test_level_of_the_bits(bits: int, level: Level) -> None:
    assert level_of(bits) is level


SUPERVISOR_READS = [
    "/v1.0/campaigns",
    f"/v1.0/campaigns/{THEM}",
    f"/v1.0/campaigns/{THEM}/campaigncalls",
    f"/v1.0/campaigns/{THEM}/stats",
    "/v1.0/campaigncalls",
    f"/v1.0/campaigncalls/{THEM}",
    f"/v1.0/campaigncalls/{THEM}/context",
    "/v1.0/agents",
    f"/v1.0/agents/{THEM}",
    f"/v1.0/agents/{THEM}/campaigncalls",
    "/v1.0/queues",
    f"/v1.0/queues/{THEM}",
    "/v1.0/outdials",
    f"/v1.0/outdials/{THEM}",
    f"/v1.0/outdials/{THEM}/targets",
    f"/v1.0/outdials/{THEM}/targets/{ME}",
    f"/v1.0/outdials/{THEM}/targets/{ME}/history",
]
ADMIN_ONLY = [
    ("POST", "/v1.0/campaigns"),
    ("PUT", f"/v1.0/campaigns/{THEM}/status"),
    ("DELETE", f"/v1.0/agents/{THEM}"),
    ("PUT", f"/v1.0/agents/{THEM}"),
    ("PUT", f"/v1.0/agents/{ME}/password"),
    ("POST", "/v1.0/outdials"),
    ("GET", "/v1.0/outplans"),
    ("GET", "/v1.0/events"),
    ("GET", f"/v1.0/customers/{THEM}/users"),
    ("GET", f"/v1.0/campaigns/{THEM}/compliance"),
    ("PUT", f"/v1.0/campaigncalls/{THEM}/disposition"),
    ("POST", f"/v1.0/agents/{THEM}/phone"),
]


@pytest.mark.parametrize("path", SUPERVISOR_READS)
def test_the_manager_bit_adds_a_supervisors_reading(path: str) -> None:
    assert agent_grant("GET", path, ME, PERMISSION_CUSTOMER_MANAGER)[0] is Grant.ALLOW
    assert agent_grant("HEAD", path, ME, PERMISSION_CUSTOMER_MANAGER)[0] is Grant.ALLOW
    assert agent_grant("GET", path, ME, PERMISSION_CUSTOMER_AGENT)[0] is not Grant.ALLOW
    assert agent_grant("DELETE", path, ME, PERMISSION_CUSTOMER_MANAGER)[0] is Grant.DENY


def test_the_manager_sets_other_agents_status() -> None:
    path = f"/v1.0/agents/{THEM}/status"
    assert agent_grant("PUT", path, ME, PERMISSION_CUSTOMER_MANAGER)[0] is Grant.ALLOW
    assert agent_grant("PUT", path, ME, 0)[0] is Grant.DENY


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
def test_only_the_admin_bit_opens_the_rest(method: str, path: str) -> None:
    for bits in (0, PERMISSION_CUSTOMER_AGENT, PERMISSION_CUSTOMER_MANAGER, 0x000F):
        grant = agent_grant(method, path, ME, bits)[0]
        assert grant is not Grant.ALLOW, (bits, method, path)
    for bits in (PERMISSION_CUSTOMER_ADMIN, PERMISSION_ALL):
        assert agent_grant(method, path, ME, bits)[0] is Grant.ALLOW


def test_a_plain_agent_keeps_its_own_routes() -> None:
    for bits in (0, PERMISSION_CUSTOMER_AGENT, PERMISSION_CUSTOMER_MANAGER):
        assert agent_grant("GET", f"/v1.0/agents/{ME}", ME, bits)[0] is Grant.ALLOW
        assert agent_grant("POST", f"/v1.0/agents/{ME}/phone", ME, bits)[0] is Grant.ALLOW
        disposition = f"/v1.0/campaigncalls/{THEM}/disposition"
        assert agent_grant("PUT", disposition, ME, bits) == (Grant.OWN_CALL, str(THEM))
    assert agent_grant("GET", f"/v1.0/agents/{THEM}", ME, 0)[0] is Grant.DENY
    # the manager's reading does not reach past the paths it names
    assert agent_grant("GET", "/v1.0/campaigns/x/y", ME, PERMISSION_CUSTOMER_MANAGER)[0] is (
        Grant.DENY
    )


def test_the_agents_own_stream_keeps_its_status_and_its_calls() -> None:
    call = uuid.uuid4()
    mine = f'{{"id":"{call}","agent_id":"{ME}","callback_agent_id":"{THEM}"}}'
    theirs = f'{{"id":"{call}","agent_id":"{THEM}","callback_agent_id":"{ME}"}}'
    assert agents_event("agent_status_updated", ME, f'{{"id":"{ME}"}}', ME)
    assert not agents_event("agent_status_updated", THEM, f'{{"id":"{THEM}"}}', ME)
    assert agents_event("campaigncall_updated", call, mine, ME)
    assert not agents_event("campaigncall_updated", call, theirs, ME)
    assert not agents_event("campaign_status_run", call, mine, ME)
    assert not agents_event("campaigncall_updated", call, "not json", ME)
    assert not agents_event("campaigncall_updated", call, "[]", ME)
    for bits in (0, PERMISSION_CUSTOMER_MANAGER):
        assert agent_grant("GET", f"/v1.0/agents/{ME}/events", ME, bits)[0] is Grant.ALLOW
    assert agent_grant("GET", f"/v1.0/agents/{THEM}/events", ME, 0)[0] is Grant.DENY
    events_of_them = f"/v1.0/agents/{THEM}/events"
    assert agent_grant("GET", events_of_them, ME, PERMISSION_CUSTOMER_MANAGER)[0] is Grant.ALLOW
