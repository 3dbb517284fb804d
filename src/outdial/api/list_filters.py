"""The list routes' filter parameters as dependencies (domain/list_filters.py says what they
mean). Parameters a route does not know are ignored, as VoIPBIN's clients expect."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from outdial.domain.ids import parse_id
from outdial.domain.list_filters import CallFilter, TargetFilter, call_filter, target_filter
from outdial.wire.paging import parse_time

_STATUS_T = "idle, progressing or done; several separated by commas"
_Q = "a part of the target's name or of any destination's target (a number), any case"


async def get_target_filter(
    status: Annotated[str | None, Query(max_length=100, description=_STATUS_T)] = None,
    q: Annotated[str | None, Query(max_length=100, description=_Q)] = None,
) -> TargetFilter:
    return target_filter(status, q)


async def get_call_filter(
    status: Annotated[
        str | None, Query(max_length=100, description="dialing, progressing or done")
    ] = None,
    result: Annotated[str | None, Query(max_length=100, description="success or fail")] = None,
    hangup_reason: Annotated[
        str | None,
        Query(
            max_length=200,
            description="normal, busy, noanswer, failed, cancel, timeout, dialout, amd, lost",
        ),
    ] = None,
    reason: Annotated[
        str | None, Query(max_length=200, description="the same as hangup_reason")
    ] = None,
    since: Annotated[
        str | None,
        Query(max_length=64, description="calls created at or after this time (ISO 8601)"),
    ] = None,
    until: Annotated[
        str | None, Query(max_length=64, description="calls created before this time")
    ] = None,
    target_id: Annotated[
        str | None, Query(max_length=64, description="the calls of one outdial target")
    ] = None,
) -> CallFilter:
    return call_filter(
        status,
        result,
        hangup_reason or reason,
        parse_time(since, "since") if since else None,
        parse_time(until, "until") if until else None,
        parse_id(target_id, field="target_id") if target_id else None,
    )


TargetFilterDep = Annotated[TargetFilter, Depends(get_target_filter)]
CallFilterDep = Annotated[CallFilter, Depends(get_call_filter)]
