"""Address: a destination or a caller id, and its validation rules (SPEC 1, Address)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from outdial.domain.errors import InvalidArgument
from outdial.domain.text import MAX_NAME, check_name


class AddressType(str, Enum):
    NONE = ""
    TEL = "tel"
    SIP = "sip"
    EXTENSION = "extension"
    AGENT = "agent"
    CONFERENCE = "conference"
    LINE = "line"


DIALABLE_TYPES = frozenset({AddressType.TEL, AddressType.SIP})

_E164 = re.compile(r"\+[0-9]{7,15}")
_TRANSPORT_PARAM = re.compile(r"transport=(udp|tcp|tls)", re.IGNORECASE)
_SIP_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+")
# Host names are checked label by label: one regex over the whole name with nested
# quantifiers backtracks exponentially on a long non-matching host (a ReDoS).
_HOST_LABEL = re.compile(r"[A-Za-z0-9-]{1,63}")
_IP6 = re.compile(r"\[[0-9A-Fa-f:.]{2,45}\]")
MAX_TEXT = MAX_NAME  # each Address string field


@dataclass(frozen=True, slots=True)
class Address:
    type: AddressType
    target: str
    target_name: str = ""
    name: str = ""
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "type": self.type.value,
            "target": self.target,
            "target_name": self.target_name,
            "name": self.name,
            "detail": self.detail,
        }

    @property
    def is_empty(self) -> bool:
        return self.type is AddressType.NONE and self.target == ""

    @property
    def sip_user(self) -> str:
        """The user part that the number plan reads (the number for tel, the user for sip)."""
        if self.type is AddressType.SIP:
            return self.target.split("@", 1)[0]
        return self.target


def _text(raw: dict[str, Any], key: str, field: str) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field}.{key} must be a string")
    # At most MAX_TEXT characters, valid Unicode (no lone surrogates), no NUL.
    return check_name(value, f"{field}.{key}")


def valid_host(host: str) -> bool:
    """A DNS name (labels of letters, digits and inner hyphens; a trailing dot allowed),
    an IPv4 address (which is such a name) or a bracketed IPv6 address."""
    if host.startswith("["):
        return _IP6.fullmatch(host) is not None
    labels = host.removesuffix(".").split(".")
    return all(
        _HOST_LABEL.fullmatch(label) and label[0] != "-" and label[-1] != "-" for label in labels
    )


def validate_sip_target(target: str, field: str) -> str:
    if target[:4].lower() == "sip:":
        target = target[4:]
    user, sep, hostport = target.partition("@")
    hostport, semi, param = hostport.partition(";")
    if semi and _TRANSPORT_PARAM.fullmatch(param) is None:
        raise InvalidArgument(
            f"{field}.target may carry only ;transport=udp, tcp or tls: {target!r}"
        )
    if not sep or not user or not hostport:
        raise InvalidArgument(f"{field}.target must be user@host or user@host:port for type sip")
    host, port = hostport, ""
    if hostport.startswith("["):
        end = hostport.find("]")
        host, port = hostport[: end + 1], hostport[end + 1 :].removeprefix(":")
    elif ":" in hostport:
        host, _, port = hostport.rpartition(":")
    if not _SIP_USER.fullmatch(user) or not valid_host(host):
        raise InvalidArgument(f"{field}.target is not a valid SIP address: {target!r}")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise InvalidArgument(f"{field}.target has an invalid port: {port!r}")
    return target


def parse_address(raw: Any, field: str, *, allow_empty: bool = False) -> Address | None:
    """Validate a JSON Address. Returns None for null or an empty object (an unset slot)."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"{field} must be an object or null")
    unknown = set(raw) - {"type", "target", "target_name", "name", "detail"}
    if unknown:
        raise InvalidArgument(f"{field} has unknown keys: {', '.join(sorted(unknown))}")
    type_raw = raw.get("type", "")
    if type_raw is None:
        type_raw = ""
    if not isinstance(type_raw, str):
        raise InvalidArgument(f"{field}.type must be a string")
    try:
        kind = AddressType(type_raw)
    except ValueError:
        allowed = ", ".join(t.value for t in AddressType if t.value)
        raise InvalidArgument(f"{field}.type {type_raw!r} is not one of: {allowed}") from None
    target = _text(raw, "target", field)
    extra = {k: _text(raw, k, field) for k in ("target_name", "name", "detail")}
    if kind is AddressType.NONE and target == "":
        if allow_empty:
            return Address(AddressType.NONE, "", **extra)
        return None
    if kind is AddressType.NONE:
        raise InvalidArgument(f"{field}.type is required when target is set")
    return _address(kind, target, field, extra)


def _address(kind: AddressType, target: str, field: str, extra: dict[str, str]) -> Address:
    """The type-specific check of `target` (already a checked string)."""
    if kind is AddressType.TEL:
        if not _E164.fullmatch(target):
            raise InvalidArgument(
                f"{field}.target must be E.164 (+ then 7 to 15 digits) for type tel"
            )
    elif kind is AddressType.SIP:
        target = validate_sip_target(target, field)
    elif target == "":
        raise InvalidArgument(f"{field}.target is required")
    return Address(kind, target, **extra)


_NO_EXTRA: dict[str, str] = {}


def parse_short_address(text: str, field: str) -> Address | None:
    """Parse the import shorthand: `tel:+15550001`, `sip:user@host`, or a bare E.164 number.

    The same rules as `parse_address`, on the fast path that bulk loads take."""
    text = text.strip()
    if text == "":
        return None
    scheme = text[:4].lower()
    if scheme == "tel:":
        kind, target = AddressType.TEL, text[4:]
    elif scheme == "sip:":
        kind, target = AddressType.SIP, text[4:]
    elif text.startswith("+"):
        kind, target = AddressType.TEL, text
    else:
        raise InvalidArgument(f"{field} must start with tel: or sip: (got {text!r})")
    check_name(target, f"{field}.target")
    return _address(kind, target, field, _NO_EXTRA)


_TYPES = {t.value: t for t in AddressType}


def address_from_parts(kind: str, target: str, target_name: str, name: str, detail: str) -> Address:
    """Rebuild a stored (already validated) Address from its five strings."""
    return Address(_TYPES[kind], target, target_name, name, detail)


def address_from_json(data: dict[str, Any]) -> Address:
    """Rebuild a stored (already validated) Address."""
    return Address(
        _TYPES[data.get("type", "")],
        data.get("target", ""),
        data.get("target_name", ""),
        data.get("name", ""),
        data.get("detail", ""),
    )
