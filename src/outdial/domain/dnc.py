"""Do-not-call lists and their entries (issue 6), and the normal form of a listed number."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from outdial.domain.errors import InvalidArgument

_E164 = re.compile(r"\+[0-9]{7,15}")
_SEPARATORS = re.compile(r"[\s().\-]")


def normalize_number(raw: object, field: str = "number") -> str:
    """A number as E.164 text (`+` then 7 to 15 digits), the form the claim looks up.

    Spaces, dots, dashes and parentheses are dropped and a `tel:` prefix is accepted, so
    `tel:+1 (212) 555-0100` is stored as `+12125550100`."""
    if not isinstance(raw, str):
        raise InvalidArgument(f"{field} must be a string in E.164 form such as +12125550100")
    text = raw.strip()
    if text.lower().startswith("tel:"):
        text = text[4:]
    text = _SEPARATORS.sub("", text)
    if not _E164.fullmatch(text):
        raise InvalidArgument(f"{field} must be E.164: '+' then 7 to 15 digits, got {raw!r}")
    return text


@dataclass(frozen=True, slots=True)
class DncList:
    id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    detail: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None


@dataclass(frozen=True, slots=True)
class DncEntry:
    id: uuid.UUID
    customer_id: uuid.UUID
    dnclist_id: uuid.UUID
    number: str
    expire: datetime | None
    detail: str
    tm_create: datetime
    tm_update: datetime
    tm_delete: datetime | None = None

    def live(self, at: datetime) -> bool:
        return self.tm_delete is None and (self.expire is None or self.expire > at)
