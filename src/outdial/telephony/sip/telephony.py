"""`SipTelephony`: the real call backend, SIP over UDP, TCP or TLS with G.711 audio (SPEC 4,
6; docs/telephony.md)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
import uuid
from pathlib import Path
from typing import Any

from outdial.domain.address import Address, AddressType
from outdial.domain.agents import DEFAULT_RING_TIMEOUT_MS
from outdial.domain.netpolicy import BlockedAddress
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.domain.rules import ring_limit_ms
from outdial.domain.trunk import TRUNK_DOWN
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.telephony.bridge import NAILED_PREFIX, LocalLeg, LocalLegs
from outdial.telephony.sip.auth import RealmGuard
from outdial.telephony.sip.call import OutboundCall
from outdial.telephony.sip.config import (
    Endpoint,
    SipConfig,
    is_ip_literal,
    parse_hostport,
    parse_realms,
)
from outdial.telephony.sip.env import CallEnv, DialTarget, MediaStats, hostport
from outdial.telephony.sip.errors import SipConfigError, SipParseError
from outdial.telephony.sip.hop import Hop
from outdial.telephony.sip.incoming import answer_out_of_dialog
from outdial.telephony.sip.library import AudioLibrary
from outdial.telephony.sip.media import MediaClock
from outdial.telephony.sip.nailed import NailedLeg, open_nailed
from outdial.telephony.sip.register import Registration
from outdial.telephony.sip.resolver import SipResolver
from outdial.telephony.sip.stream import TlsSettings
from outdial.telephony.sip.transaction import Timers
from outdial.telephony.sip.transport import SipTransport
from outdial.telephony.sip.trunk import TrunkMonitor
from outdial.telephony.sip.tts import SpeechSynth
from outdial.telephony.sip.uri import SipUri, format_host

log = logging.getLogger("outdial.telephony.sip")


class SipTelephony:
    """Places each call as a SIP dialog over UDP, TCP or TLS. `start()` before the first call;
    cancel the calls' tasks (they hang up) before `stop()`."""

    def __init__(self, config: SipConfig) -> None:
        self.config = config
        tls = TlsSettings(config.tls_ca_file, config.tls_no_verify)
        self.transport = SipTransport(tls=tls, keepalive=config.keepalive_s)
        self.clock = MediaClock()
        cache_dir = config.cache_dir or Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "outdial", "tts"
        )
        self.synth = SpeechSynth(cache_dir, espeak=None, sox=None)
        self.library = AudioLibrary(self.synth, sox=None, network=config.network)
        self.resolver = SipResolver(config.dns_servers)
        self._trunk_hops: list[Hop] = []
        self._proxy_hops: list[Hop] = []
        self._local_ips: dict[str, str] = {}
        self.env: CallEnv | None = None
        self.registration: Registration | None = None
        self.trunk: TrunkMonitor | None = None  # the health of the trunk (or outbound proxy)
        self.calls_placed = 0
        # The agents' browser phones (telephony/webrtc.py `PhoneBook.leg`), set by the process
        # that serves them; None: a `webrtc:` bridge target is not answered.
        self.local_legs: LocalLegs | None = None
        self.calls_active = 0
        self.nailed: dict[str, NailedLeg] = {}  # nailed-up agent legs by `nailed:<agent id>`
        self.legs_opened = 0  # INVITEs sent by `open_leg`

    @property
    def local_address(self) -> tuple[str, int]:
        return self.transport.local

    async def _resolve(self, endpoint: Endpoint, name: str) -> list[Hop]:
        host, port = endpoint.hostport
        if not host or not 0 <= port < 65536 or (port == 0 and is_ip_literal(host)):
            raise SipConfigError(f"{name} {host}:{port} needs a host and a port 1-65535")
        try:
            return await self.resolver.hops(
                host, port, endpoint.transport, explicit=endpoint.explicit_transport
            )
        except OSError as exc:
            raise SipConfigError(f"{name} host {host!r} does not resolve: {exc}") from None

    async def start(self) -> None:
        cfg = self.config
        if cfg.timer_t1_ms <= 0:
            raise SipConfigError(f"timer_t1_ms must be positive, got {cfg.timer_t1_ms}")
        trunk = cfg.trunk_endpoint
        if trunk is not None:
            self._trunk_hops = await self._resolve(trunk, "SIP trunk")
        if cfg.outbound_proxy is not None:
            self._proxy_hops = await self._resolve(cfg.outbound_proxy, "SIP outbound proxy")
        host, port = cfg.bind
        try:
            await self.transport.open(host, port)
        except (OSError, OverflowError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise SipConfigError(
                f"cannot bind the SIP socket to {host}:{port} ({reason}); use a local address "
                "and a free port (port 0 picks one)"
            ) from None
        transport = self.transport
        transport.request_handler = lambda msg, addr: answer_out_of_dialog(
            transport.send, msg, addr
        )
        self.synth.espeak = shutil.which(cfg.espeak)
        self.synth.sox = self.library.sox = shutil.which(cfg.sox)
        if self.synth.espeak is None:
            log.warning("%s not found: talk actions will be skipped", cfg.espeak)
        timers = Timers(t1=cfg.timer_t1_ms / 1000)
        names: set[tuple[str, int]] = set()
        if trunk is not None:
            names = {(trunk.host.lower(), trunk.port)} | {h.addr for h in self._trunk_hops}
        self.env = CallEnv(
            transport=self.transport, timers=timers, clock=self.clock, library=self.library,
            username=cfg.username, password=cfg.password,
            abandon_grace=min(timers.b, 8 * timers.t1), user_agent=cfg.user_agent,
            network=cfg.network.with_own([self.transport.local]),
            realms=RealmGuard(cfg.realms), trunk=frozenset(names),
            trunk_hops=tuple(self._trunk_hops), resolver=self.resolver,
            failover=cfg.failover_ms / 1000, session_expires=cfg.session_expires,
            leg_target=self.leg_target, local_legs=self.local_leg,
        )  # fmt: skip
        first = cfg.outbound_proxy or trunk
        if first is not None:
            breaker = self.env.breaker
            hops = self._proxy_hops if cfg.outbound_proxy is not None else self._trunk_hops
            self.trunk = TrunkMonitor(
                self.transport, timers, lambda: breaker.order(list(hops)), self.via_for,
                f"{first.scheme}:{hostport(*first.hostport)}{first.uri_params}",
                cfg.trunk_rule, cfg.user_agent,
            )  # fmt: skip
        if cfg.register and trunk is not None:
            self.registration = Registration(self.env, self, trunk, cfg.register_expires)
            self.registration.start()
        log.info(
            "SIP telephony listening on %s:%d (UDP, TCP), trunk %s",
            *self.local_address,
            trunk and f"{trunk.scheme}:{format_host(trunk.host)}:{trunk.port} {trunk.transport}",
        )

    def health(self) -> dict[str, Any]:
        """For `GET /health`: the SIP socket, the trunk and the registration with it."""
        registration = self.registration.status() if self.registration else {"state": "off"}
        return {
            "sip": {
                "listening": f"{format_host(self.local_address[0])}:{self.local_address[1]}",
                "trunk": [str(h) for h in self._trunk_hops],
                "registration": registration,
                "trunk_state": self.trunk.status() if self.trunk else {"state": "none"},
                "calls_active": self.calls_active,
            }
        }

    def media_stats(self, call_id: str) -> MediaStats | None:
        """RTP counters of a finished call (the last 10 000 calls are kept)."""
        return self.env.media_stats.get(call_id) if self.env else None

    def trunk_down(self) -> str | None:
        """Why the trunk counts as down (docs/operations.md), or None while it is up."""
        if self.trunk is None or not self.trunk.down:
            return None
        return self.trunk.health.why or "down"

    async def stop(self) -> None:
        await self.close_legs()
        if self.trunk is not None:
            await self.trunk.stop()
        if self.registration is not None:
            await self.registration.stop()
        await self.transport.aclose()
        await self.clock.close()
        if self.env is not None:
            await self.env.ears.close()

    def local_ip_for(self, remote_ip: str) -> str:
        """Our address as seen by `remote_ip`: the bind address unless it is a wildcard."""
        bound = self.transport.local[0]
        if bound not in ("0.0.0.0", "::"):
            return bound
        if remote_ip not in self._local_ips:
            family = socket.AF_INET6 if ":" in remote_ip else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((remote_ip, 9))  # no packet is sent; it picks the route
                self._local_ips[remote_ip] = str(probe.getsockname()[0])
        return self._local_ips[remote_ip]

    def _via_trunk(self, request: CallRequest) -> bool:
        """Whether this call's INVITE goes to the watched trunk (or outbound proxy)."""
        if self.config.outbound_proxy is not None or request.destination.type is AddressType.TEL:
            return True
        trunk = self.config.trunk_endpoint
        if trunk is None or request.destination.type is not AddressType.SIP:
            return False
        rest = request.destination.target.removeprefix("sip:").rpartition("@")[2]
        try:
            parsed = SipUri.parse(f"sip:x@{rest}")
        except SipParseError:
            return False
        return self.env is not None and self.env.is_trunk(parsed.host, parsed.port or 0)

    def via_for(self, hop: Hop) -> str:
        return f"{format_host(self.local_ip_for(hop.host))}:{self.transport.local[1]}"

    async def _target(self, env: CallEnv, request: CallRequest) -> DialTarget | str:
        """Where this call goes, or why it cannot be dialed (`destination_blocked` when the
        network policy refuses the address: nothing is sent)."""
        dest = request.destination
        trunk = self.config.trunk_endpoint
        if dest.type is AddressType.TEL:
            if trunk is None or not self._trunk_hops:
                return "no SIP trunk configured (OUTDIAL_SIP_TRUNK) to dial tel destinations"
            hops, to_trunk = env.breaker.order(list(self._trunk_hops)), True
            uri = f"{trunk.scheme}:{dest.target}@{hostport(*trunk.hostport)}{trunk.uri_params}"
            domain = format_host(trunk.host)
        elif dest.type is AddressType.SIP:
            user, _, rest = dest.target.removeprefix("sip:").rpartition("@")
            try:
                parsed = SipUri.parse(f"sip:{user}@{rest}")
                hops, to_trunk = await env.route(
                    parsed.host, parsed.port or 0, parsed.transport,
                    explicit="transport" in parsed.params,
                )  # fmt: skip
            except BlockedAddress as exc:
                log.warning("call %s: %s blocked: %s", request.call_id, dest.target, exc)
                return "destination_blocked"
            except (SipParseError, OSError) as exc:
                return f"cannot reach SIP destination {dest.target!r}: {exc}"
            uri, domain = parsed.text, format_host(parsed.host)
        else:
            return f"destination type {dest.type.value!r} cannot be dialed over SIP"
        routes: tuple[str, ...] = ()
        proxy = self.config.outbound_proxy
        if proxy is not None and self._proxy_hops:  # every request goes to the proxy first
            hops, to_trunk = env.breaker.order(list(self._proxy_hops)), True
            routes = (f"<{proxy.scheme}:{hostport(*proxy.hostport)};lr{proxy.uri_params}>",)
        via = self.via_for(hops[0])
        media_host = self.config.media_host or self.local_ip_for(hops[0].host)
        identity = _from_value(request.source, domain) if request.source.target else ""
        privacy = next((v for k, v in request.sip_headers if k.lower() == "privacy"), "")
        hidden = "id" in {p.strip().lower() for p in privacy.split(";")}
        return DialTarget(
            uri, hops[0], via, ANONYMOUS if hidden else _from_value(request.source, domain),
            media_host,
            to_trunk=to_trunk, alternatives=tuple(hops[1:]), routes=routes,
            secure=uri.startswith("sips:"), identity=identity if to_trunk else "",
            extra_headers=request.sip_headers,
        )  # fmt: skip

    def local_leg(self, target: str) -> LocalLeg | None:
        if target.startswith(NAILED_PREFIX):
            return self.nailed.get(target)
        return self.local_legs(target) if self.local_legs is not None else None

    async def open_leg(self, agent_id: uuid.UUID, address: Address) -> NailedLeg | None:
        """Call a nailed-up agent once and keep the answered leg (`LegOpener`, sip/nailed.py):
        bridges to `nailed:<agent id>` use it until it ends. None: not answered (rang out at
        the agents' default ring time, failed, or not dialable)."""
        if self.env is None or not self.transport.is_open:
            return None
        self.legs_opened += 1
        leg = await open_nailed(
            self.env, self.leg_target, agent_id, address, DEFAULT_RING_TIMEOUT_MS
        )
        if leg is None:
            return None
        old = self.nailed.get(leg.label)
        if old is not None and old is not leg:
            old.hang_up()  # a leg the desk no longer knows of (not expected)
        self.nailed[leg.label] = leg
        leg.ended.add_done_callback(lambda _: self._forget(leg))
        return leg

    def _forget(self, leg: NailedLeg) -> None:
        if self.nailed.get(leg.label) is leg:
            del self.nailed[leg.label]

    async def close_legs(self) -> None:
        """BYE to every nailed-up leg still open (the engine stops), waiting for them at most
        the hang-up grace."""
        legs = list(self.nailed.values())
        for leg in legs:
            leg.hang_up()
        if legs:
            grace = self.env.abandon_grace if self.env is not None else 2.0
            await asyncio.wait([asyncio.ensure_future(leg.wait_closed()) for leg in legs],
                               timeout=grace + 1)  # fmt: skip

    async def leg_target(self, request: CallRequest) -> DialTarget | str:
        """Where a bridge's second leg goes, by the rules of `place_call` (trunk health, the
        registration, the network policy), or why it cannot be dialed."""
        if self.env is None or not self.transport.is_open:
            return "SIP telephony is not started"
        if self.trunk is not None and self.trunk.down and self._via_trunk(request):
            return TRUNK_DOWN
        if self.registration is not None and self._via_trunk(request):
            problem = await self.registration.wait_registered(request.dial_timeout_ms / 1000)
            if problem is not None:
                return problem
        return await self._target(self.env, request)

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
        if self.env is None or not self.transport.is_open:
            return CallOutcome(HangupReason.FAILED, detail="SIP telephony is not started")
        if self.trunk is not None and self.trunk.down and self._via_trunk(request):
            return CallOutcome(HangupReason.FAILED, detail=TRUNK_DOWN)  # nothing is sent
        if self.registration is not None:
            ring_s = ring_limit_ms(request.dial_timeout_ms) / 1000
            problem = await self.registration.wait_registered(ring_s)
            if problem is not None:
                return CallOutcome(HangupReason.FAILED, detail=problem)
        target = await self._target(self.env, request)
        if isinstance(target, str):
            log.warning("call %s: %s", request.call_id, target)
            return CallOutcome(HangupReason.FAILED, detail=target)
        self.calls_placed += 1
        self.calls_active += 1
        call = OutboundCall(self.env, request, target, on_answer)
        try:
            outcome = await call.run()
        finally:
            self.calls_active -= 1
        if target.to_trunk and self.trunk is not None:
            outcome = self.trunk.judge(call.trunk_verdict(), outcome)
        log.info(
            "call %s: ended %s (%s) %s",
            request.call_id,
            outcome.reason.value,
            outcome.sip_code,
            outcome.detail,
        )
        return outcome


ANONYMOUS = '"Anonymous" <sip:anonymous@anonymous.invalid>'  # RFC 3323 4.1.1.3


def _from_value(source: Address, domain: str) -> str:
    display = (source.target_name or source.name).replace('"', "")
    prefix = f'"{display}" ' if display else ""
    if source.type is AddressType.SIP and "@" in source.target:
        return f"{prefix}<sip:{source.target.removeprefix('sip:')}>"
    user = source.target if source.type is AddressType.TEL and source.target else "anonymous"
    return f"{prefix}<sip:{user}@{domain}>"


__all__ = ["SipConfig", "SipTelephony", "parse_hostport", "parse_realms"]
