"""SIP URIs, name-addr values (From, To, Contact, Route) and Via values (RFC 3261 19, 20).

Parameter names are compared without regard to case and their values are kept as sent, so
`;transport=UDP`, `;Transport=udp` and `;lr` all parse; nothing here rejects an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from outdial.telephony.sip.errors import SipParseError

DEFAULT_PORT = 5060
DEFAULT_TLS_PORT = 5061


def parse_params(text: str) -> dict[str, str]:
    """`;a=1;lr;B=x` -> {"a": "1", "lr": "", "b": "x"} (names lower-cased, values as sent)."""
    params: dict[str, str] = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        params[name.strip().lower()] = value.strip().strip('"')
    return params


def split_hostport(text: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]`, `[v6]:port` -> (host without brackets, port or None)."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"bad IPv6 host: {text!r}")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise SipParseError(f"missing host in {text!r}")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SipParseError(f"bad port in {text!r}")
        return host, int(port_text)
    return host, None


def format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True, slots=True)
class SipUri:
    """A parsed `sip:`/`sips:` URI. `text` is the URI exactly as received, reused verbatim."""

    text: str
    scheme: str
    user: str
    host: str
    port: int | None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> SipUri:
        text = text.strip()
        scheme, colon, rest = text.partition(":")
        if not colon or scheme.lower() not in ("sip", "sips"):
            raise SipParseError(f"not a sip URI: {text!r}")
        rest = rest.split("?", 1)[0]
        userinfo, at, hostpart = rest.rpartition("@")
        if not at:
            hostpart = rest
        hostport, _, param_text = hostpart.partition(";")
        host, port = split_hostport(hostport)
        user = userinfo.split(":", 1)[0]
        return cls(text, scheme.lower(), user, host, port, parse_params(param_text))

    @property
    def transport(self) -> str:
        """UDP, TCP or TLS: `sips:` or `;transport=tls` is TLS (RFC 5630), else the param."""
        wanted = self.params.get("transport", "").upper()
        if self.scheme == "sips" or wanted == "TLS":
            return "TLS"
        return "TCP" if wanted == "TCP" else "UDP"

    @property
    def address(self) -> tuple[str, int]:
        """Where to send: `maddr` if present, else the host, at the port or 5060 (5061 TLS)."""
        default = DEFAULT_TLS_PORT if self.transport == "TLS" else DEFAULT_PORT
        return self.params.get("maddr") or self.host, self.port or default

    @property
    def loose_routing(self) -> bool:
        return "lr" in self.params


@dataclass(frozen=True, slots=True)
class NameAddr:
    """`"Name" <uri;uparams>;hparams` or `uri;hparams`: the URI text and header params."""

    display: str
    uri: str
    params: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        lt = text.find("<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise SipParseError(f"unclosed '<' in {text!r}")
            display = text[:lt].strip().strip('"')
            return cls(display, text[lt + 1 : gt].strip(), parse_params(text[gt + 1 :]))
        uri, _, param_text = text.partition(";")
        return cls("", uri.strip(), parse_params(param_text))

    @property
    def tag(self) -> str:
        return self.params.get("tag", "")


@dataclass(frozen=True, slots=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Via:
        proto, _, rest = text.strip().partition(" ")
        parts = proto.split("/")
        if len(parts) != 3:
            raise SipParseError(f"bad Via: {text!r}")
        sent_by, _, param_text = rest.strip().partition(";")
        host, port = split_hostport(sent_by.strip())
        return cls(parts[2].upper(), host, port, parse_params(param_text))

    @property
    def branch(self) -> str:
        return self.params.get("branch", "")


def tag_of(header_value: str | None) -> str:
    if not header_value:
        return ""
    return NameAddr.parse(header_value).tag


def with_tag(header_value: str, tag: str) -> str:
    return header_value if tag_of(header_value) else f"{header_value};tag={tag}"


def top_branch(via_values: list[str]) -> str:
    return Via.parse(via_values[0]).branch if via_values else ""
