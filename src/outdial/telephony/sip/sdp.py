"""SDP (RFC 4566) and the offer/answer model (RFC 3264) for one G.711 audio stream.

outdial offers PCMU, PCMA and telephone-event. It reads an answer (`answer_media`: the stream,
codec, address, direction and packet time to send with, or why the answer carries no usable
audio), and answers the far end's offers in re-INVITE and UPDATE (`LocalSession.answer`): one
m= line per offered line, the first acceptable audio stream taken with the offerer's first
G.711 codec, every other stream refused with port 0, the direction mirrored (sendonly ->
recvonly, inactive -> inactive) and the o= version incremented on every new description.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

PCMU = 0
PCMA = 8
TELEPHONE_EVENT = 101
CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA"}
_DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
_MIRROR = {"sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
MIN_PTIME, MAX_PTIME, DEFAULT_PTIME = 10, 60, 20


class SdpError(ValueError):
    """A body that is not a complete session description (truncated, no media...)."""


@dataclass(frozen=True, slots=True)
class MediaLine:
    media: str  # audio, video, ...
    port: int
    proto: str
    formats: tuple[str, ...]
    host: str  # the media-level c= or else the session's ("" when neither)
    direction: str
    rtpmap: dict[str, str] = field(default_factory=dict)  # payload type -> "PCMU/8000"
    ptime: int | None = None

    def codec(self) -> int | None:
        """The first G.711 payload type of this line, in the sender's order of preference."""
        for fmt in self.formats:
            if fmt in ("0", "8"):
                return int(fmt)
            name = self.rtpmap.get(fmt, "").upper()
            if name.startswith("PCMU/8000") and fmt.isdigit():
                return PCMU
            if name.startswith("PCMA/8000") and fmt.isdigit():
                return PCMA
        return None

    def telephone_event(self) -> str | None:
        for fmt, name in self.rtpmap.items():
            if name.lower().startswith("telephone-event/8000") and fmt in self.formats:
                return fmt
        return None


@dataclass(frozen=True, slots=True)
class Sdp:
    lines: tuple[MediaLine, ...]


def parse_sdp(body: bytes) -> Sdp:
    """Every m= line with its address, direction, rtpmap and ptime; SdpError if malformed."""
    text = body.decode("utf-8", "replace")
    raw = [line.strip() for line in text.splitlines() if line.strip()]
    if not raw or raw[0] != "v=0":
        raise SdpError("does not start with v=0")
    session: dict[str, str] = {"c": "", "dir": "sendrecv"}
    media: list[dict[str, object]] = []
    for line in raw[1:]:
        if len(line) < 2 or line[1] != "=":
            raise SdpError(f"bad line {line[:40]!r}")
        kind, value = line[0], line[2:].strip()
        if kind == "m":
            parts = value.split()
            port_text = parts[1].split("/")[0] if len(parts) > 1 else ""
            if len(parts) < 4 or not port_text.isdigit() or int(port_text) > 65535:
                raise SdpError(f"bad media line {line[:60]!r}")
            media.append({"m": parts, "c": "", "dir": "", "rtpmap": {}, "ptime": None})
            continue
        target: dict[str, object] = media[-1] if media else session  # type: ignore[assignment]
        if kind == "c":
            parts = value.split()
            if len(parts) < 3:
                raise SdpError(f"bad connection line {line[:60]!r}")
            target["c"] = parts[2].split("/")[0]
        elif kind == "a":
            name, _, rest = value.partition(":")
            if name in _DIRECTIONS:
                target["dir"] = name
            elif name == "rtpmap" and media:
                fmt, _, encoding = rest.partition(" ")
                rtpmap = media[-1]["rtpmap"]
                assert isinstance(rtpmap, dict)
                rtpmap[fmt.strip()] = encoding.strip()
            elif name == "ptime" and media and rest.strip().split(".")[0].isdigit():
                media[-1]["ptime"] = int(rest.strip().split(".")[0])
    if not media:
        raise SdpError("no media line")
    lines: list[MediaLine] = []
    for item in media:
        words = item["m"]
        assert isinstance(words, list)
        rtpmap = item["rtpmap"]
        ptime = item["ptime"]
        assert isinstance(rtpmap, dict) and (ptime is None or isinstance(ptime, int))
        lines.append(
            MediaLine(
                media=words[0].lower(), port=int(words[1].split("/")[0]), proto=words[2],
                formats=tuple(words[3:]), host=str(item["c"] or session["c"]),
                direction=str(item["dir"] or session["dir"]), rtpmap=rtpmap, ptime=ptime,
            )
        )  # fmt: skip
    return Sdp(tuple(lines))


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """Where to send audio and how: read from an answer, or the far end's side of its offer."""

    host: str
    port: int
    payload_type: int  # PCMU or PCMA
    direction: str = "sendrecv"  # the far end's direction
    ptime: int = DEFAULT_PTIME
    telephone_event: int | None = None

    @property
    def wants_audio(self) -> bool:
        """False when the far end is on hold or asked us not to send (sendonly, inactive)."""
        if self.port == 0 or self.host in ("", "0.0.0.0", "::"):
            return False
        return self.direction in ("sendrecv", "recvonly")


def _clamp_ptime(ptime: int | None) -> int:
    if ptime is None:
        return DEFAULT_PTIME
    rounded = 10 * round(ptime / 10)
    return max(MIN_PTIME, min(MAX_PTIME, rounded))


def _description(line: MediaLine, codec: int) -> MediaDescription:
    if not line.host:
        raise SdpError("no connection address (c=) for the audio stream")
    event = line.telephone_event()
    return MediaDescription(
        line.host, line.port, codec, line.direction, _clamp_ptime(line.ptime),
        int(event) if event and event.isdigit() else None,
    )  # fmt: skip


def answer_media(body: bytes) -> MediaDescription | str:
    """The audio to send, read from the answer to our offer; or why there is none usable
    (no SDP, unreadable or truncated SDP, the stream refused with port 0, no common codec).
    Hold (`c=0.0.0.0`, `sendonly`, `inactive`) is usable: it just takes no audio now."""
    if not body.strip():
        return "no SDP in the answer"
    try:
        sdp = parse_sdp(body)
        audio = [line for line in sdp.lines if line.media == "audio"]
        if not audio:
            return "no audio stream in the answer"
        line = audio[0]
        if line.port == 0:
            return "the answer refused the audio stream (m=audio 0)"
        codec = line.codec()
        if codec is None:
            return f"no common codec in the answer (formats {' '.join(line.formats)})"
        return _description(line, codec)
    except SdpError as exc:
        return f"unreadable SDP in the answer: {exc}"


def parse_answer(body: bytes) -> MediaDescription | None:
    """`answer_media`, None for every reason there is no usable audio."""
    media = answer_media(body)
    return media if isinstance(media, MediaDescription) else None


def build_offer(
    host: str,
    rtp_port: int,
    *,
    session_id: int | None = None,
    version: int = 1,
    telephone_event: bool = True,
    ptime: int = DEFAULT_PTIME,
) -> bytes:
    """An audio offer: PCMU, PCMA and optionally telephone-event, sendrecv."""
    sid = session_id if session_id is not None else secrets.randbelow(2**31)
    payloads = [PCMU, PCMA] + ([TELEPHONE_EVENT] if telephone_event else [])
    lines = [
        *_head(host, sid, version),
        f"m=audio {rtp_port} RTP/AVP {' '.join(map(str, payloads))}",
    ]
    lines += ["a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"]
    if telephone_event:
        lines += [
            f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000",
            f"a=fmtp:{TELEPHONE_EVENT} 0-15",
        ]
    lines += [f"a=ptime:{ptime}", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


def _head(host: str, session_id: int, version: int) -> list[str]:
    family = "IP6" if ":" in host else "IP4"
    return [
        "v=0",
        f"o=outdial {session_id} {version} IN {family} {host}",
        "s=outdial",
        f"c=IN {family} {host}",
        "t=0 0",
    ]


class LocalSession:
    """Our side of the call's session description: one o= session id, a version that goes up
    with every description we send (RFC 3264 8)."""

    def __init__(self, host: str, rtp_port: int) -> None:
        self.host = host
        self.rtp_port = rtp_port
        self.session_id = secrets.randbelow(2**31)
        self.version = 0

    def offer(self) -> bytes:
        self.version += 1
        return build_offer(self.host, self.rtp_port, session_id=self.session_id,
                           version=self.version)  # fmt: skip

    def answer(self, offer: Sdp) -> tuple[bytes, MediaDescription] | None:
        """Our answer to the far end's offer and the audio it sets up; None when no offered
        stream is acceptable (the request is then refused with 488)."""
        chosen: tuple[int, MediaLine, int] | None = None
        for index, line in enumerate(offer.lines):
            codec = line.codec()
            usable = line.media == "audio" and line.proto.upper() == "RTP/AVP" and line.port
            if chosen is None and usable and codec is not None and line.host:
                chosen = (index, line, codec)
        if chosen is None:
            return None
        self.version += 1
        lines = _head(self.host, self.session_id, self.version)
        index, accepted, codec = chosen
        for i, line in enumerate(offer.lines):
            if i != index:
                lines.append(f"m={line.media} 0 {line.proto} {' '.join(line.formats)}")
                continue
            event = line.telephone_event()
            formats = [str(codec)] + ([event] if event else [])
            lines.append(f"m=audio {self.rtp_port} RTP/AVP {' '.join(formats)}")
            lines.append(f"a=rtpmap:{codec} {CODEC_NAMES[codec]}/8000")
            if event:
                lines += [f"a=rtpmap:{event} telephone-event/8000", f"a=fmtp:{event} 0-15"]
            lines.append(f"a=ptime:{_clamp_ptime(line.ptime)}")
            lines.append(f"a={_MIRROR.get(line.direction, 'sendrecv')}")
        body = ("\r\n".join(lines) + "\r\n").encode()
        return body, _description(accepted, codec)
