"""The SIP settings of a process, read once at start-up (SPEC 4, docs/telephony.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.trunk import TrunkRule
from outdial.settings import DEFAULT_SIP_BIND, SipSettings
from outdial.telephony.sip.errors import SipConfigError
from outdial.telephony.sip.hop import TRANSPORTS


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
class Endpoint:
    """A trunk or proxy as the operator wrote it: `HOST[:PORT]`, `sip:HOST[:PORT];transport=tcp`
    or `sips:HOST[:PORT]`. Port 0: not given (DNS SRV for a name, else 5060 or 5061)."""

    host: str
    port: int = 0
    transport: str = "UDP"  # UDP, TCP, TLS
    explicit_transport: bool = False  # given by the operator (else NAPTR may choose)

    @property
    def hostport(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def scheme(self) -> str:
        return "sips" if self.transport == "TLS" else "sip"

    @property
    def uri_params(self) -> str:
        return f";transport={self.transport.lower()}" if self.transport == "TCP" else ""


def parse_endpoint(text: str, name: str) -> Endpoint:
    """`HOST[:PORT]`, `sip:HOST[:PORT][;transport=udp|tcp|tls]` or `sips:HOST[:PORT]`."""
    raw = text.strip()
    scheme, sep, rest = raw.partition(":")
    if sep and scheme.lower() in ("sip", "sips") and not rest.isdigit():
        hostport, _, param_text = rest.partition(";")
        params = dict(
            (p.partition("=")[0].strip().lower(), p.partition("=")[2].strip().upper())
            for p in param_text.split(";") if p.strip()
        )  # fmt: skip
        wanted = params.get("transport", "")
        if wanted and wanted not in TRANSPORTS:
            raise SipConfigError(f"{name}: transport must be udp, tcp or tls, got {wanted!r}")
        transport = "TLS" if scheme.lower() == "sips" else (wanted or "UDP")
        explicit = scheme.lower() == "sips" or bool(wanted)
    else:
        hostport, transport, explicit = raw, "UDP", False
    try:
        host, port = parse_hostport(hostport.removeprefix("//"), 0)
    except ValueError as exc:
        raise SipConfigError(f"{name}: {exc}") from None
    return Endpoint(host, port, transport, explicit)


def parse_realms(text: str) -> tuple[str, ...]:
    """`OUTDIAL_SIP_REALM`: one realm, or several separated by commas."""
    return tuple(r.strip() for r in text.split(",") if r.strip())


@dataclass(frozen=True, slots=True)
class SipConfig:
    # Receives calls to tel destinations: (host, port); port 0 = not given (SRV or default).
    trunk: tuple[str, int] | None
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
    # Realms the trunk's credentials answer; empty: the first realm the trunk asks for.
    realms: tuple[str, ...] = ()
    trunk_transport: str = "UDP"  # UDP, TCP or TLS (sips:)
    trunk_explicit_transport: bool = False
    outbound_proxy: Endpoint | None = None  # every request goes there first (a Route)
    register: bool = False  # REGISTER the AOR username@trunk-domain and keep it registered
    register_expires: int = 600
    tls_ca_file: Path | None = None  # else the system's CAs
    tls_no_verify: frozenset[str] = frozenset()  # hosts whose certificate is not checked
    session_expires: int = 1800  # RFC 4028: asked in the INVITE (0: no session timer)
    keepalive_s: float = 30.0  # CRLF keep-alive on TCP/TLS connections
    dns_servers: tuple[tuple[str, int], ...] = ()  # else the system's resolvers
    failover_ms: int = 2000  # no answer at all from a server this long: try the next one
    trunk_rule: TrunkRule = field(default_factory=TrunkRule)  # when the trunk counts as down

    @property
    def trunk_endpoint(self) -> Endpoint | None:
        if self.trunk is None:
            return None
        return Endpoint(self.trunk[0], self.trunk[1], self.trunk_transport,
                        self.trunk_explicit_transport)  # fmt: skip

    @classmethod
    def from_settings(
        cls, settings: SipSettings, network: NetworkPolicy | None = None, *, cache_home: str
    ) -> SipConfig:
        """The one place that parses SIP settings (SPEC 4, docs/telephony.md); an unset bind
        is the documented `127.0.0.1:0`. SipConfigError names the setting that is wrong.
        `cache_home`: where the TTS cache goes (`outdial/tts` under it)."""
        values = sip_values(
            trunk=settings.trunk, outbound_proxy=settings.outbound_proxy,
            register=settings.register, tls_ca_file=settings.tls_ca_file,
            tls_no_verify=settings.tls_no_verify, realm=settings.realm,
        )  # fmt: skip
        try:
            bind = parse_hostport(settings.bind or DEFAULT_SIP_BIND, 0)
        except ValueError as exc:
            raise SipConfigError(f"OUTDIAL_SIP_BIND / --sip-bind: {exc}") from None
        if bool(settings.username) != bool(settings.password):
            raise SipConfigError("OUTDIAL_SIP_USERNAME and OUTDIAL_SIP_PASSWORD go together")
        if settings.register and not settings.username:
            raise SipConfigError("OUTDIAL_SIP_REGISTER needs OUTDIAL_SIP_USERNAME (the account)")
        return cls(
            bind=bind,
            username=settings.username,
            password=settings.password,
            cache_dir=Path(cache_home, "outdial", "tts"),
            network=network or NetworkPolicy(),
            trunk_rule=trunk_rule(
                settings.trunk_down_after, settings.trunk_down_window, settings.trunk_probe
            ),
            **values,  # type: ignore[arg-type]
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SipConfig:
        """Read the OUTDIAL_SIP_* names (docs/telephony.md) into the same settings the CLI
        makes, then `from_settings`; SipConfigError if malformed."""
        settings = SipSettings(
            trunk=env.get("OUTDIAL_SIP_TRUNK", ""),
            bind=env.get("OUTDIAL_SIP_BIND", ""),
            username=env.get("OUTDIAL_SIP_USERNAME", ""),
            password=env.get("OUTDIAL_SIP_PASSWORD", ""),
            realm=env.get("OUTDIAL_SIP_REALM", ""),
            register=parse_flag(env.get("OUTDIAL_SIP_REGISTER", ""), "OUTDIAL_SIP_REGISTER"),
            outbound_proxy=env.get("OUTDIAL_SIP_OUTBOUND_PROXY", ""),
            tls_ca_file=env.get("OUTDIAL_SIP_TLS_CA_FILE", ""),
            tls_no_verify=env.get("OUTDIAL_SIP_TLS_NO_VERIFY", ""),
            trunk_down_after=env.get("OUTDIAL_SIP_TRUNK_DOWN_AFTER", ""),
            trunk_down_window=env.get("OUTDIAL_SIP_TRUNK_DOWN_WINDOW", ""),
            trunk_probe=env.get("OUTDIAL_SIP_TRUNK_PROBE", ""),
        )
        cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "/tmp"), ".cache"))
        return cls.from_settings(settings, cache_home=cache)


def trunk_rule(faults: str, window_s: str, probe_s: str) -> TrunkRule:
    """OUTDIAL_SIP_TRUNK_DOWN_AFTER (faults in a row, default 5), _DOWN_WINDOW (seconds they
    must fall within, 30) and _PROBE (seconds between OPTIONS probes of a down trunk, 5)."""
    default = TrunkRule()
    try:
        return TrunkRule(
            int(faults) if faults.strip() else default.faults,
            float(window_s) if window_s.strip() else default.window_s,
            float(probe_s) if probe_s.strip() else default.probe_s,
        )
    except ValueError:
        raise SipConfigError(
            "OUTDIAL_SIP_TRUNK_DOWN_AFTER (a count), OUTDIAL_SIP_TRUNK_DOWN_WINDOW and "
            f"OUTDIAL_SIP_TRUNK_PROBE (seconds) must be positive, got {faults!r}, "
            f"{window_s!r}, {probe_s!r}"
        ) from None


def parse_flag(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SipConfigError(f"{name}: expected 1 or 0, got {text!r}")


def sip_values(
    *, trunk: str, outbound_proxy: str = "", register: str | bool = False,
    tls_ca_file: str = "", tls_no_verify: str = "", realm: str = "",
) -> dict[str, object]:  # fmt: skip
    """The SipConfig fields for the trunk, proxy, REGISTER, TLS and realm settings."""
    out: dict[str, object] = {"trunk": None}
    if trunk.strip():
        end = parse_endpoint(trunk, "OUTDIAL_SIP_TRUNK")
        if not end.port and is_ip_literal(end.host):
            end = Endpoint(end.host, 5061 if end.transport == "TLS" else 5060, end.transport,
                           end.explicit_transport)  # fmt: skip
        out.update(trunk=end.hostport, trunk_transport=end.transport,
                   trunk_explicit_transport=end.explicit_transport)  # fmt: skip
    if outbound_proxy.strip():
        out["outbound_proxy"] = parse_endpoint(outbound_proxy, "OUTDIAL_SIP_OUTBOUND_PROXY")
    wants = register if isinstance(register, bool) else parse_flag(register, "OUTDIAL_SIP_REGISTER")
    if wants and out["trunk"] is None:
        raise SipConfigError("OUTDIAL_SIP_REGISTER needs OUTDIAL_SIP_TRUNK (the registrar)")
    out["register"] = wants
    if tls_ca_file.strip():
        path = Path(tls_ca_file.strip())
        if not path.is_file():
            raise SipConfigError(f"OUTDIAL_SIP_TLS_CA_FILE: {path} is not a readable file")
        out["tls_ca_file"] = path
    out["tls_no_verify"] = frozenset(
        h.strip().lower() for h in tls_no_verify.split(",") if h.strip()
    )
    out["realms"] = parse_realms(realm)
    return out


def is_ip_literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
