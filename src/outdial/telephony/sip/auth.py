"""Who gets the trunk's digest credentials, and answering 401/407 (RFC 3261 22.2, 22.3).

Credentials go only where the operator sends calls (the trunk or the outbound proxy) and only
for the operator's realm: `OUTDIAL_SIP_REALM` (one or more, comma-separated) or, when it is
unset, the first realm the trunk challenges with, remembered for the life of the process. Any
other challenger gets nothing: an offline dictionary attack needs a digest to start from.

Within one attempt a challenge is answered for each realm it names (a proxy's 407 and the far
end's 401 add up: the next request carries every credential), each nonce at most once, and at
most `MAX_ROUNDS` times, so a far end that answers every INVITE with `stale=true` cannot make
us loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from outdial.telephony.sip.digest import Challenge, authorization, best_challenge, parse_challenge
from outdial.telephony.sip.message import SipMessage

MAX_ROUNDS = 3


class RealmGuard:
    """The realms the trunk's credentials may answer, shared by every call of a process."""

    def __init__(self, configured: tuple[str, ...] = ()) -> None:
        self.configured = tuple(r for r in configured if r)
        self.learned: str | None = None

    def allows(self, realm: str) -> bool:
        """True for the operator's realm; with none configured, the first one asked wins."""
        if self.configured:
            return realm in self.configured
        if self.learned is None:
            self.learned = realm
        return realm == self.learned

    @property
    def description(self) -> str:
        if self.configured:
            return ", ".join(repr(r) for r in self.configured)
        return repr(self.learned) if self.learned is not None else "(none yet)"


def challenges_by_realm(values: list[str]) -> dict[str, Challenge]:
    """The strongest supported challenge of each realm, in the order the realms appear."""
    realms: dict[str, list[str]] = {}
    for value in values:
        parsed = parse_challenge(value)
        if parsed is not None:
            realms.setdefault(parsed.realm, []).append(value)
    best = {realm: best_challenge(items) for realm, items in realms.items()}
    return {realm: ch for realm, ch in best.items() if ch is not None}


@dataclass(slots=True)
class _Answer:
    header: str
    challenge: Challenge
    count: int = 0  # nonce count used so far


@dataclass(slots=True)
class CallCredentials:
    """The credentials of one attempt: every realm answered so far, and how often."""

    username: str
    password: str
    realms: RealmGuard
    rounds: int = 0
    _answers: dict[tuple[str, str], _Answer] = field(default_factory=dict)
    _nonces: set[str] = field(default_factory=set)

    def on_challenge(self, response: SipMessage, *, to_trunk: bool, where: str) -> str | None:
        """Take a 401/407 in: None when the request may be sent again with `headers()`, else
        why not (nothing is sent then)."""
        code = response.status
        proxy = code == 407
        if not to_trunk:
            return (
                f"{code} challenge from {where}, which is not the trunk: "
                "the trunk's credentials are sent only to the trunk"
            )
        if not self.username:
            return f"{code}: authentication asked, OUTDIAL_SIP_USERNAME is not set"
        values = response.get_all("Proxy-Authenticate" if proxy else "WWW-Authenticate")
        offered = challenges_by_realm(values)
        if not offered:
            return f"{code}: no digest challenge we support"
        if self.rounds >= MAX_ROUNDS:
            return f"{code}: still challenged after {MAX_ROUNDS} rounds of credentials"
        header = "Proxy-Authorization" if proxy else "Authorization"
        for realm, challenge in offered.items():
            if not self.realms.allows(realm):
                return (
                    f"{code}: realm {realm!r} is not the trunk's realm "
                    f"({self.realms.description}, OUTDIAL_SIP_REALM): credentials not sent"
                )
            if challenge.nonce in self._nonces:
                return f"{code}: credentials rejected for realm {realm!r} (nonce answered before)"
            previous = self._answers.get((header, realm))
            if previous is not None and not challenge.stale:
                return f"{code}: credentials rejected for realm {realm!r}"
        for realm, challenge in offered.items():
            self._answers[(header, realm)] = _Answer(header, challenge)
            self._nonces.add(challenge.nonce)
        self.rounds += 1
        return None

    def headers(self, method: str, uri: str) -> list[tuple[str, str]]:
        """Authorization / Proxy-Authorization headers for a new request (nonce count +1)."""
        out: list[tuple[str, str]] = []
        for answer in self._answers.values():
            answer.count += 1
            value = authorization(
                answer.challenge, method=method, uri=uri, username=self.username,
                password=self.password, nonce_count=answer.count,
            )  # fmt: skip
            out.append((answer.header, value))
        return out

    @property
    def any(self) -> bool:
        return bool(self._answers)
