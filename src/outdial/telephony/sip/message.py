"""SIP messages (RFC 3261 section 7): parse one datagram, build one, read and write headers.

Header names are matched without regard to case and compact forms (`v`, `i`, `f`, ...) are
expanded on parse, so the rest of the stack only ever sees canonical names. Headers that hold
comma-separated lists (Via, Route, Record-Route, Contact, ...) are split by `get_all`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from outdial.telephony.sip.errors import SipParseError
from outdial.telephony.sip.uri import with_tag

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
}
_KNOWN = (
    "Via From To Call-ID CSeq Contact Max-Forwards Content-Type Content-Length Route "
    "Record-Route WWW-Authenticate Proxy-Authenticate Authorization Proxy-Authorization "
    "User-Agent Server Allow Supported Require Expires Reason Accept Warning RSeq RAck "
    "Session-Expires Min-SE P-Asserted-Identity Privacy Min-Expires"
).split()
_CANONICAL = {name.lower(): name for name in _KNOWN}
# Headers whose value is a comma-separated list (RFC 3261 7.3.1); others are kept whole.
_LIST_HEADERS = frozenset(
    {"via", "route", "record-route", "contact", "allow", "supported", "require", "accept"}
)


@lru_cache(maxsize=1024)
def canonical_name(name: str) -> str:
    """`v` -> `Via`, `call-id` -> `Call-ID`; unknown names keep their spelling."""
    stripped = name.strip()
    lower = stripped.lower()
    if lower in COMPACT_FORMS:
        return COMPACT_FORMS[lower]
    return _CANONICAL.get(lower, stripped)


@lru_cache(maxsize=1024)
def _lower_canonical(name: str) -> str:
    return canonical_name(name).lower()


def split_list(value: str) -> list[str]:
    """Split a header value on commas that are outside quotes and angle brackets."""
    if '"' not in value and "<" not in value:  # the common case, at C speed
        return [part for part in (p.strip() for p in value.split(",")) if part]
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    i = 0
    while i < len(value):
        ch = value[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth += 1
        elif ch == ">":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


@dataclass(slots=True)
class SipMessage:
    """A request (method and uri set) or a response (status set)."""

    method: str = ""
    uri: str = ""
    status: int = 0
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return self.status == 0

    def get(self, name: str) -> str | None:
        wanted = _lower_canonical(name)
        for key, value in self.headers:
            if key == wanted or key.lower() == wanted:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Every value of a header, in order; list headers are split on their commas."""
        wanted = _lower_canonical(name)
        values: list[str] = []
        for key, value in self.headers:
            if key.lower() == wanted:
                if wanted in _LIST_HEADERS:
                    values.extend(split_list(value))
                else:
                    values.append(value)
        return values

    def add(self, name: str, value: str) -> None:
        self.headers.append((canonical_name(name), value))

    def remove(self, name: str) -> None:
        wanted = canonical_name(name).lower()
        self.headers = [(k, v) for k, v in self.headers if k.lower() != wanted]

    def set(self, name: str, value: str) -> None:
        """Replace every value of `name` with one, kept at the first one's position."""
        wanted = canonical_name(name).lower()
        for i, (key, _) in enumerate(self.headers):
            if key.lower() == wanted:
                self.headers[i] = (canonical_name(name), value)
                self.headers[i + 1 :] = [
                    (k, v) for k, v in self.headers[i + 1 :] if k.lower() != wanted
                ]
                return
        self.add(name, value)

    @property
    def call_id(self) -> str:
        return (self.get("Call-ID") or "").strip()

    @property
    def cseq(self) -> tuple[int, str]:
        raw = (self.get("CSeq") or "").split()
        if len(raw) != 2 or not raw[0].isdigit():
            raise SipParseError(f"bad CSeq: {self.get('CSeq')!r}")
        return int(raw[0]), raw[1].upper()

    def to_bytes(self) -> bytes:
        if self.is_request:
            lines = [f"{self.method} {self.uri} SIP/2.0"]
        else:
            lines = [f"SIP/2.0 {self.status} {self.reason}"]
        lines.extend(f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body

    @classmethod
    def parse(cls, data: bytes) -> SipMessage:
        head, sep, body = data.partition(b"\r\n\r\n")
        if not sep:
            head, sep, body = data.partition(b"\n\n")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            text = head.decode("latin-1")
        raw_lines = text.replace("\r\n", "\n").split("\n")
        while raw_lines and not raw_lines[0].strip():  # keep-alive CRLFs before a message
            raw_lines.pop(0)
        if not raw_lines:
            raise SipParseError("empty datagram")
        msg = _parse_start_line(raw_lines[0])
        lines: list[str] = []
        for line in raw_lines[1:]:
            if line[:1] in (" ", "\t") and lines:
                lines[-1] += " " + line.strip()  # header folding
            elif line.strip():
                lines.append(line)
        for line in lines:
            name, colon, value = line.partition(":")
            if not colon or not name.strip():
                raise SipParseError(f"bad header line: {line!r}")
            msg.add(name, value.strip())
        length = msg.get("Content-Length")
        if length is not None and length.strip().isdigit():
            if len(body) < int(length):  # a datagram cut short (RFC 3261 18.3): not trusted
                raise SipParseError(f"body shorter than Content-Length {int(length)}")
            body = body[: int(length)]
        msg.body = body
        if not msg.get("Call-ID") or not msg.get("CSeq") or not msg.get("Via"):
            raise SipParseError("missing Call-ID, CSeq or Via")
        msg.cseq  # noqa: B018 - validates the CSeq header
        return msg


def _parse_start_line(line: str) -> SipMessage:
    parts = line.strip().split(" ", 2)
    if parts[0].upper() == "SIP/2.0":
        if len(parts) < 2 or not parts[1].isdigit() or not 100 <= int(parts[1]) <= 699:
            raise SipParseError(f"bad status line: {line!r}")
        return SipMessage(status=int(parts[1]), reason=parts[2] if len(parts) > 2 else "")
    if len(parts) != 3 or parts[2].upper() != "SIP/2.0" or not parts[0].isalpha():
        raise SipParseError(f"bad request line: {line!r}")
    return SipMessage(method=parts[0].upper(), uri=parts[1])


def response_to(
    request: SipMessage, status: int, reason: str, *, to_tag: str = "", body: bytes = b""
) -> SipMessage:
    """A response that copies Via, From, To, Call-ID and CSeq from the request (8.2.6)."""
    resp = SipMessage(status=status, reason=reason)
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for key, value in request.headers:
            if key.lower() == name.lower():
                if name == "To" and to_tag:
                    value = with_tag(value, to_tag)
                resp.headers.append((name, value))
    resp.body = body
    return resp
