"""An outplan's own SIP headers (`sip_headers`): a small map added to each INVITE it places.

For what trunks ask that outdial does not set itself: `Diversion`, `P-Charge-Info`, `Privacy`
(RFC 3323: `id` hides the caller in From while `P-Asserted-Identity`, which outdial sets from
the outplan's source on calls to the trunk, carries it), `X-...` headers. Names are SIP tokens
and may not be one the SIP stack owns (Via, From, To, Call-ID, CSeq, Contact, Route, the
authentication, session and body headers); values are printable text without CR or LF.
"""

from __future__ import annotations

import re
from typing import Any

from outdial.domain.errors import InvalidArgument

MAX_HEADERS = 10
MAX_NAME = 64
MAX_VALUE = 256
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
RESERVED = frozenset(
    name.lower()
    for name in (
        "Via From To Call-ID CSeq Contact Max-Forwards Route Record-Route Content-Type "
        "Content-Length Content-Encoding Content-Disposition Authorization Proxy-Authorization "
        "WWW-Authenticate Proxy-Authenticate Require Proxy-Require Supported Allow "
        "Session-Expires Min-SE RSeq RAck Expires Event Subscription-State Refer-To "
        "P-Asserted-Identity User-Agent Accept i f t v m l c k x"
    ).split()
)
PRIVACY_VALUES = frozenset({"none", "header", "session", "user", "id", "critical"})


def parse_sip_headers(raw: Any, field: str = "sip_headers") -> dict[str, str]:
    """Validate the map; InvalidArgument names the header that is wrong."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{field} must be an object of header names to values")
    if len(raw) > MAX_HEADERS:
        raise InvalidArgument(f"{field} may have at most {MAX_HEADERS} headers")
    out: dict[str, str] = {}
    for name, value in raw.items():
        where = f"{field}.{name}"[:100]
        if not isinstance(name, str) or not _TOKEN.fullmatch(name) or len(name) > MAX_NAME:
            raise InvalidArgument(f"{where}: a header name is a SIP token of 1-{MAX_NAME} chars")
        if name.lower() in RESERVED:
            raise InvalidArgument(f"{where}: outdial sets this header itself")
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE:
            raise InvalidArgument(f"{where}: the value is text of 1-{MAX_VALUE} characters")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise InvalidArgument(f"{where}: the value may not hold CR, LF or control characters")
        if name.lower() == "privacy":
            values = {v.strip().lower() for v in value.split(";")}
            if not values <= PRIVACY_VALUES:
                raise InvalidArgument(f"{where}: Privacy values are {sorted(PRIVACY_VALUES)}")
        if any(existing.lower() == name.lower() for existing in out):
            raise InvalidArgument(f"{where}: the header is named twice")
        out[name] = value.strip()
    return out
