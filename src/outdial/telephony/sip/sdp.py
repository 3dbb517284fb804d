"""SDP (RFC 4566, offer/answer RFC 3264): our G.711 offer and what we read from the answer."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

PCMU = 0
PCMA = 8
TELEPHONE_EVENT = 101
CODEC_NAMES = {PCMU: "PCMU", PCMA: "PCMA"}


def build_offer(
    host: str,
    rtp_port: int,
    *,
    session_id: int | None = None,
    version: int = 1,
    telephone_event: bool = True,
) -> bytes:
    """An audio offer: PCMU, PCMA and optionally telephone-event, sendrecv, 20 ms packets."""
    sid = session_id if session_id is not None else secrets.randbelow(2**31)
    family = "IP6" if ":" in host else "IP4"
    payloads = [PCMU, PCMA] + ([TELEPHONE_EVENT] if telephone_event else [])
    lines = [
        "v=0",
        f"o=outdial {sid} {version} IN {family} {host}",
        "s=outdial",
        f"c=IN {family} {host}",
        "t=0 0",
        f"m=audio {rtp_port} RTP/AVP {' '.join(str(p) for p in payloads)}",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:8 PCMA/8000",
    ]
    if telephone_event:
        lines += [
            f"a=rtpmap:{TELEPHONE_EVENT} telephone-event/8000",
            f"a=fmtp:{TELEPHONE_EVENT} 0-15",
        ]
    lines += ["a=ptime:20", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True, slots=True)
class MediaDescription:
    """Where to send audio and in which codec, read from an answer (or a re-INVITE's offer)."""

    host: str
    port: int
    payload_type: int  # PCMU or PCMA
    direction: str = "sendrecv"

    @property
    def wants_audio(self) -> bool:
        """False when the far end is on hold or asked us not to send (sendonly, inactive)."""
        if self.port == 0 or self.host in ("", "0.0.0.0", "::"):
            return False
        return self.direction in ("sendrecv", "recvonly")


def parse_answer(body: bytes) -> MediaDescription | None:
    """The first audio stream offering PCMU or PCMA; None when there is none we can use."""
    session = {"c": "", "dir": "sendrecv"}
    streams: list[dict[str, str]] = []  # keys: c, port, payloads, dir
    for raw in body.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        kind, value = line[0], line[2:].strip()
        target = streams[-1] if streams else session
        if kind == "m":
            streams.append({"media": value})
        elif kind == "c" and len(value.split()) >= 3:
            target["c"] = value.split()[2].split("/")[0]
        elif kind == "a" and value in ("sendrecv", "sendonly", "recvonly", "inactive"):
            target["dir"] = value
    for stream in streams:
        parts = stream["media"].split()
        if len(parts) < 4 or parts[0] != "audio" or not parts[1].split("/")[0].isdigit():
            continue
        codec = next((int(p) for p in parts[3:] if p in ("0", "8")), None)
        if codec is None:
            continue
        host = stream.get("c") or session["c"]
        direction = stream.get("dir") or session["dir"]
        return MediaDescription(host, int(parts[1].split("/")[0]), codec, direction)
    return None
