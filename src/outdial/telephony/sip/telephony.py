"""`SipTelephony`: the real call backend, SIP over UDP with G.711 audio (SPEC 4, 6)."""

from __future__ import annotations

import logging
import os
import shutil
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outdial.domain.address import Address, AddressType
from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.outcome import CallOutcome, HangupReason
from outdial.telephony.base import CallRequest, OnAnswer
from outdial.telephony.sip.call import OutboundCall
from outdial.telephony.sip.env import CallEnv, DialTarget, MediaStats, resolve
from outdial.telephony.sip.errors import SipConfigError, SipParseError
from outdial.telephony.sip.library import AudioLibrary
from outdial.telephony.sip.media import MediaClock
from outdial.telephony.sip.transaction import Timers
from outdial.telephony.sip.transport import Addr, SipTransport
from outdial.telephony.sip.tts import SpeechSynth
from outdial.telephony.sip.uri import DEFAULT_PORT, format_host, split_hostport

log = logging.getLogger("outdial.telephony.sip")


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address; ValueError if malformed."""
    raw = text.strip()
    problem = f"expected HOST:PORT with a port from 0 to 65535, got {text!r}"
    if raw.count(":") > 1 and not raw.startswith("["):
        raw = f"[{raw}]"  # a bare IPv6 address
    if raw.startswith("["):
        host, sep, rest = raw[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(problem)
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_raw = raw.partition(":")
        port_text = port_text_raw if sep else None
    if not host or any(ch in host for ch in " /@;,[]"):
        raise ValueError(problem)
    if port_text is None:
        return host, default_port
    if not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(problem)
    return host, int(port_text)


@dataclass(frozen=True, slots=True)
class SipConfig:
    trunk: tuple[str, int] | None  # receives calls to tel destinations
    bind: tuple[str, int]  # the local SIP socket; port 0 picks a free one
    username: str = ""
    password: str = ""
    timer_t1_ms: int = 500
    media_host: str | None = None  # address for RTP and SDP; default: the SIP address
    cache_dir: Path | None = None  # TTS cache; default $XDG_CACHE_HOME/outdial/tts
    espeak: str = "espeak-ng"
    sox: str = "sox"
    user_agent: str = "outdial"
    # What sip destinations (not the trunk) may reach; closed unless the operator opens it.
    network: NetworkPolicy = field(default_factory=NetworkPolicy)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SipConfig:
        """Read OUTDIAL_SIP_TRUNK, _BIND, _USERNAME, _PASSWORD; SipConfigError if malformed."""
        try:
            trunk_text = env.get("OUTDIAL_SIP_TRUNK", "").strip()
            trunk = parse_hostport(trunk_text, DEFAULT_PORT) if trunk_text else None
        except ValueError as exc:
            raise SipConfigError(f"OUTDIAL_SIP_TRUNK: {exc}") from None
        try:
            bind = parse_hostport(env.get("OUTDIAL_SIP_BIND", "") or "0.0.0.0:0", 0)
        except ValueError as exc:
            raise SipConfigError(f"OUTDIAL_SIP_BIND: {exc}") from None
        cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "/tmp"), ".cache"))
        return cls(
            trunk=trunk,
            bind=bind,
            username=env.get("OUTDIAL_SIP_USERNAME", ""),
            password=env.get("OUTDIAL_SIP_PASSWORD", ""),
            cache_dir=Path(cache, "outdial", "tts"),
        )


class SipTelephony:
    """Places each call as a SIP dialog over one UDP socket. `start()` before the first call;
    cancel the calls' tasks (they hang up) before `stop()`."""

    def __init__(self, config: SipConfig) -> None:
        self.config = config
        self.transport = SipTransport()
        self.clock = MediaClock()
        cache_dir = config.cache_dir or Path(
            os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "outdial", "tts"
        )
        self.synth = SpeechSynth(cache_dir, espeak=None, sox=None)
        self.library = AudioLibrary(self.synth, sox=None, network=config.network)
        self._trunk_addr: Addr | None = None
        self._local_ips: dict[str, str] = {}
        self.env: CallEnv | None = None
        self.calls_placed = 0
        self.calls_active = 0

    @property
    def local_address(self) -> Addr:
        return self.transport.local

    async def start(self) -> None:
        cfg = self.config
        if cfg.timer_t1_ms <= 0:
            raise SipConfigError(f"timer_t1_ms must be positive, got {cfg.timer_t1_ms}")
        if cfg.trunk is not None:
            host, port = cfg.trunk
            if not host or not 0 < port < 65536:
                raise SipConfigError(f"SIP trunk {host}:{port} needs a host and a port 1-65535")
            try:
                self._trunk_addr = await resolve(host, port)
            except OSError as exc:
                raise SipConfigError(f"SIP trunk host {host!r} does not resolve: {exc}") from None
        host, port = cfg.bind
        try:
            await self.transport.open(host, port)
        except (OSError, OverflowError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise SipConfigError(
                f"cannot bind the SIP socket to {host}:{port} ({reason}); use a local address "
                "and a free port (port 0 picks one)"
            ) from None
        self.synth.espeak = shutil.which(cfg.espeak)
        self.synth.sox = self.library.sox = shutil.which(cfg.sox)
        if self.synth.espeak is None:
            log.warning("%s not found: talk actions will be skipped", cfg.espeak)
        timers = Timers(t1=cfg.timer_t1_ms / 1000)
        self.env = CallEnv(
            transport=self.transport, timers=timers, clock=self.clock, library=self.library,
            username=cfg.username, password=cfg.password,
            abandon_grace=min(timers.b, 8 * timers.t1), user_agent=cfg.user_agent,
        )  # fmt: skip
        log.info(
            "SIP telephony listening on %s:%d (UDP), trunk %s",
            *self.local_address,
            cfg.trunk and f"{cfg.trunk[0]}:{cfg.trunk[1]}",
        )

    def media_stats(self, call_id: str) -> MediaStats | None:
        """RTP counters of a finished call (the last 10 000 calls are kept)."""
        return self.env.media_stats.get(call_id) if self.env else None

    async def stop(self) -> None:
        self.transport.close()
        await self.clock.close()

    def _local_ip_for(self, remote_ip: str) -> str:
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

    async def _target(self, request: CallRequest) -> DialTarget | str:
        """Where this call goes, or why it cannot be dialed."""
        dest = request.destination
        if dest.type is AddressType.TEL:
            if self.config.trunk is None or self._trunk_addr is None:
                return "no SIP trunk configured (OUTDIAL_SIP_TRUNK) to dial tel destinations"
            host, port = self.config.trunk
            uri, addr = f"sip:{dest.target}@{format_host(host)}:{port}", self._trunk_addr
            domain = format_host(host)
        elif dest.type is AddressType.SIP:
            user, _, hostport = dest.target.removeprefix("sip:").rpartition("@")
            try:
                host, maybe_port = split_hostport(hostport)
                addr = await resolve(host, maybe_port or DEFAULT_PORT)
            except (SipParseError, OSError) as exc:
                return f"cannot reach SIP destination {dest.target!r}: {exc}"
            uri, domain = f"sip:{user}@{hostport}", format_host(host)
        else:
            return f"destination type {dest.type.value!r} cannot be dialed over SIP"
        local = self._local_ip_for(addr[0])
        via = f"{format_host(local)}:{self.transport.local[1]}"
        media_host = self.config.media_host or local
        return DialTarget(uri, addr, via, _from_value(request.source, domain), media_host)

    async def place_call(self, request: CallRequest, on_answer: OnAnswer) -> CallOutcome:
        if self.env is None or not self.transport.is_open:
            return CallOutcome(HangupReason.FAILED, detail="SIP telephony is not started")
        target = await self._target(request)
        if isinstance(target, str):
            log.warning("call %s: %s", request.call_id, target)
            return CallOutcome(HangupReason.FAILED, detail=target)
        self.calls_placed += 1
        self.calls_active += 1
        try:
            outcome = await OutboundCall(self.env, request, target, on_answer).run()
        finally:
            self.calls_active -= 1
        log.info(
            "call %s: ended %s (%s) %s",
            request.call_id,
            outcome.reason.value,
            outcome.sip_code,
            outcome.detail,
        )
        return outcome


def _from_value(source: Address, domain: str) -> str:
    display = (source.target_name or source.name).replace('"', "")
    prefix = f'"{display}" ' if display else ""
    if source.type is AddressType.SIP and "@" in source.target:
        return f"{prefix}<sip:{source.target.removeprefix('sip:')}>"
    user = source.target if source.type is AddressType.TEL and source.target else "anonymous"
    return f"{prefix}<sip:{user}@{domain}>"


__all__ = ["SipConfig", "SipTelephony", "parse_hostport"]
