"""Status guards derived from the transition tables of `domain/states.py` (issue 15)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from outdial.domain.states import (
    CAMPAIGN_TRANSITIONS,
    CAMPAIGNCALL_TRANSITIONS,
    TARGET_TRANSITIONS,
    CampaigncallStatus,
    CampaignStatus,
    TargetStatus,
)
from outdial.storage.transitions import moves_to, sources

status = sa.column("status", sa.String)


def sql(clause: sa.ColumnElement[bool]) -> str:
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


def test_the_guards_are_the_table() -> None:
    assert sql(moves_to(status, TARGET_TRANSITIONS, TargetStatus.PROGRESSING)) == (
        "status = 'idle'"
    )
    done_by_claim = moves_to(
        status, TARGET_TRANSITIONS, TargetStatus.DONE, from_=[TargetStatus.IDLE]
    )
    assert sql(done_by_claim) == "status = 'idle'"
    assert sources(TARGET_TRANSITIONS, TargetStatus.DONE) == [
        TargetStatus.IDLE,
        TargetStatus.PROGRESSING,
    ]
    assert sql(moves_to(status, CAMPAIGN_TRANSITIONS, CampaignStatus.RUN)) == (
        "status IN ('stop', 'stopping')"
    )
    # a stop request leads to stopping or stop: only a running campaign may take either
    stop = moves_to(status, CAMPAIGN_TRANSITIONS, CampaignStatus.STOPPING, CampaignStatus.STOP)
    assert sql(stop) == "status = 'run'"
    assert sql(moves_to(status, CAMPAIGNCALL_TRANSITIONS, CampaigncallStatus.DONE)) == (
        "status IN ('dialing', 'progressing')"
    )


def test_a_move_the_table_does_not_allow_cannot_be_written() -> None:
    with pytest.raises(ValueError, match="no transition from done"):
        moves_to(status, TARGET_TRANSITIONS, TargetStatus.PROGRESSING, from_=[TargetStatus.DONE])
    # a reset or a recycle pass (issue 17) is the one way back from done
    assert sql(
        moves_to(status, TARGET_TRANSITIONS, TargetStatus.IDLE, from_=[TargetStatus.DONE])
    ) == ("status = 'done'")
    with pytest.raises(ValueError, match="no state may move"):
        sources(TARGET_TRANSITIONS, TargetStatus.IDLE, TargetStatus.PROGRESSING)
