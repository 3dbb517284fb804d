"""Log output: the default text lines, or one JSON object per line (`--log-format json`)."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Fields the engine passes with `extra=`; they become top-level keys of a JSON line.
ID_FIELDS = ("campaign_id", "target_id", "campaigncall_id", "engine_id", "customer_id", "event_id")
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ID_FIELDS:
            value = record.__dict__.get(field)
            if value is not None:
                line[field] = str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(level: int = logging.INFO, fmt: str = "text") -> None:
    """Send logs to standard error in the chosen format (replacing earlier handlers)."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be text or json (got {fmt!r})")
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
