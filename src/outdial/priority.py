"""The dialer process's CPU priority (`--media-priority`, OUTDIAL_MEDIA_PRIORITY).

RTP is sent by one event loop at 20 ms slots; on a machine shared with other busy processes the
operating system may keep that loop off the CPU for longer than the 5 ms a packet may be late,
however little CPU the loop needs. Media servers offer a switch for this (Asterisk's `-p`,
FreeSWITCH's `-rp`); this is outdial's:

- `normal` (default): nothing changes.
- `high`: nice -10 (needs CAP_SYS_NICE or root).
- `realtime`: SCHED_RR at priority 10, as Asterisk `-p` does: the process runs before every
  ordinary process whenever it is ready. Linux still keeps 5 % of each second for the others
  (`kernel.sched_rt_runtime_us`), but a process that spins would take a whole core: use it
  for dialer processes (`outdial engine`), not for a `serve` that also imports large lists.

Processes this one starts (espeak-ng for `talk`) begin at normal priority (SCHED_RESET_ON_FORK).
A setting that the system refuses (no permission, not Linux) is logged and the process goes on
at normal priority: a missing privilege must not stop calls.
"""

from __future__ import annotations

import logging
import os
from enum import Enum

log = logging.getLogger("outdial.priority")
NICE_HIGH = -10
RT_PRIORITY = 10


class MediaPriority(str, Enum):
    NORMAL = "normal"
    HIGH = "high"
    REALTIME = "realtime"


def apply(priority: MediaPriority) -> bool:
    """Raise this process's priority as asked; True when the system took it."""
    try:
        reset = getattr(os, "SCHED_RESET_ON_FORK", 0)  # children (espeak-ng...) start normal
        if priority is MediaPriority.HIGH:
            os.setpriority(os.PRIO_PROCESS, 0, NICE_HIGH)
            os.sched_setscheduler(0, os.SCHED_OTHER | reset, os.sched_param(0))
        elif priority is MediaPriority.REALTIME:
            os.sched_setscheduler(0, os.SCHED_RR | reset, os.sched_param(RT_PRIORITY))
        else:
            return True
    except (OSError, AttributeError) as exc:  # EPERM, or no such call on this system
        log.warning(
            "media priority %s refused (%s): running at normal priority", priority.value, exc
        )
        return False
    log.info("media priority %s", priority.value)
    return True
