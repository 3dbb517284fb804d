"""HTTP digest authentication for SIP (RFC 2617, RFC 8760): answer a 401/407 challenge.

Supports MD5, MD5-sess, SHA-256 and SHA-256-sess with `qop=auth` or without qop. A response
with several challenges gets an answer to the strongest one we support.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from outdial.telephony.sip.message import split_list

_HASHES = {"MD5": "md5", "SHA-256": "sha256", "SHA-512-256": "sha512_256"}
_PREFERENCE = ["SHA-512-256", "SHA-256", "MD5"]


@dataclass(frozen=True, slots=True)
class Challenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"  # upper case, may end in -SESS
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    @property
    def base_algorithm(self) -> str:
        return self.algorithm.removesuffix("-SESS")

    @property
    def supported(self) -> bool:
        name = _HASHES.get(self.base_algorithm)
        if name is None or name not in hashlib.algorithms_available:
            return False
        return not self.qop or "auth" in self.qop


def parse_challenge(value: str) -> Challenge | None:
    """Parse one `WWW-Authenticate`/`Proxy-Authenticate` value; None if not a Digest one."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    fields: dict[str, str] = {}
    for item in split_list(rest):
        name, eq, raw = item.partition("=")
        if eq:
            raw = raw.strip()
            if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
                raw = raw[1:-1].replace('\\"', '"')
            fields[name.strip().lower()] = raw
    if "realm" not in fields or "nonce" not in fields:
        return None
    qop = tuple(q.strip().lower() for q in fields.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=fields["realm"],
        nonce=fields["nonce"],
        algorithm=fields.get("algorithm", "MD5").upper(),
        qop=qop,
        opaque=fields.get("opaque"),
        stale=fields.get("stale", "").lower() == "true",
    )


def best_challenge(values: list[str]) -> Challenge | None:
    challenges = [c for c in (parse_challenge(v) for v in values) if c and c.supported]
    challenges.sort(key=lambda c: _PREFERENCE.index(c.base_algorithm))
    return challenges[0] if challenges else None


def _h(algorithm: str, text: str) -> str:
    return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()


def digest_response(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nonce_count: int = 1,
) -> str:
    """The `response=` value (RFC 2617 3.2.2.1 with the hash of RFC 8760)."""
    alg = challenge.base_algorithm
    ha1 = _h(alg, f"{username}:{challenge.realm}:{password}")
    if challenge.algorithm.endswith("-SESS"):
        ha1 = _h(alg, f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = _h(alg, f"{method}:{uri}")
    if "auth" in challenge.qop:
        nc = f"{nonce_count:08x}"
        return _h(alg, f"{ha1}:{challenge.nonce}:{nc}:{cnonce}:auth:{ha2}")
    return _h(alg, f"{ha1}:{challenge.nonce}:{ha2}")


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str | None = None,
    nonce_count: int = 1,
) -> str:
    """The value of the `Authorization`/`Proxy-Authorization` header for this challenge."""
    cnonce = cnonce or secrets.token_hex(8)
    response = digest_response(
        challenge,
        method=method,
        uri=uri,
        username=username,
        password=password,
        cnonce=cnonce,
        nonce_count=nonce_count,
    )
    parts = [
        f'username="{username}"',
        f'realm="{challenge.realm}"',
        f'nonce="{challenge.nonce}"',
        f'uri="{uri}"',
        f'response="{response}"',
        f"algorithm={challenge.algorithm}",
    ]
    if "auth" in challenge.qop:
        parts += ["qop=auth", f"nc={nonce_count:08x}", f'cnonce="{cnonce}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{challenge.opaque}"')
    return "Digest " + ", ".join(parts)
