"""The actions player: talk (espeak-ng), play (files and http), sleep, hangup, unknown types."""

from __future__ import annotations

import asyncio
import http.server
import io
import os
import shutil
import threading
import uuid
import wave
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from outdial.domain.netpolicy import NetworkPolicy
from outdial.domain.outcome import HangupReason
from outdial.telephony.sip import SipAnsweringPeer
from outdial.telephony.sip.actions import action_order
from outdial.telephony.sip.tts import SpeechSynth


def _tone_wav(seconds: float, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(b"\x00\x10" * int(seconds * rate))
    return buf.getvalue()


@pytest.fixture
def http_wav(tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server with one WAV file (a thread: test scaffolding only)."""
    (tmp_path / "half.wav").write_bytes(_tone_wav(0.5))
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/half.wav"
    server.shutdown()
    server.server_close()


def test_action_order_follows_next_id_and_stops_loops() -> None:
    actions = [
        {"id": "a", "next_id": "c", "type": "talk"},
        {"id": "b", "type": "sleep"},
        {"id": "c", "next_id": "00000000-0000-0000-0000-000000000000", "type": "play"},
    ]
    assert [a["id"] for a in action_order(actions)] == ["a", "c"]
    loop = [{"id": "x", "next_id": "x", "type": "sleep"}]
    assert len(action_order(loop)) == 10
    assert action_order([]) == []


class _Media:
    """Uploaded media by id (what the engine reads from the database)."""

    def __init__(self, files: dict[uuid.UUID, bytes]) -> None:
        self.files = files

    async def wav(self, media_id: uuid.UUID) -> bytes:
        if media_id not in self.files:
            raise LookupError(f"media {media_id} does not exist")
        return self.files[media_id]


def _opened(tel: Any) -> Any:
    """The suite's HTTP server is on loopback: open it, as the operator's setting would."""
    tel.library.network = NetworkPolicy.from_text("127.0.0.0/8")
    return tel


async def test_play_sleep_hangup_and_unknown(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace, tmp_path: Path, http_wav: str
) -> None:
    uploaded = uuid.uuid4()
    tel = _opened(await telephony(("127.0.0.1", peer.port)))
    tel.library.media = _Media({uploaded: _tone_wav(0.5, rate=8000)})
    actions = [
        {"type": "play", "option": {"stream_urls": [f"media:{uploaded}", http_wav]}},
        {"type": "play", "option": {"stream_urls": [f"media:{uuid.uuid4()}"]}},
        {"type": "amd", "option": {"async": True}},  # goes on at once (issue 12)
        {"type": "webhook_send", "option": {}},  # nothing to do on a call: skipped
        {"type": "sleep", "option": {"duration": 100}},
        {"type": "hangup"},
        {"type": "sleep", "option": {"duration": 5000}},
    ]
    request = kit.call_request(kit.tel("+15550001"), actions=actions)
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 5)
    assert outcome.reason is HangupReason.NORMAL
    stats = tel.media_stats(str(request.call_id))
    assert stats is not None and stats.sent_packets == 25 + 25 + 5
    seen = peer.calls[str(request.call_id)]
    await asyncio.wait_for(seen.done.wait(), 2)
    assert peer.rtp_packets()[str(request.call_id)] >= 50


async def test_local_files_are_never_played(
    peer: SipAnsweringPeer, telephony, kit: SimpleNamespace, tmp_path: Path
) -> None:
    """Issue 10: `play` reads no path and no file:// URL, even one that exists."""
    local = tmp_path / "local.wav"
    local.write_bytes(_tone_wav(0.5, rate=8000))
    tel = _opened(await telephony(("127.0.0.1", peer.port)))
    actions = [
        {"type": "play", "option": {"stream_urls": [str(local), f"file://{local}"]}},
        {"type": "sleep", "option": {"duration": 100}},
    ]
    request = kit.call_request(kit.tel("+15550001"), actions=actions)
    outcome = await asyncio.wait_for(tel.place_call(request, kit.no_op), 5)
    assert outcome.reason is HangupReason.NORMAL
    stats = tel.media_stats(str(request.call_id))
    assert stats is not None and stats.sent_packets == 5  # the sleep alone


async def test_play_fetches_obey_the_network_policy(tmp_path: Path, http_wav: str) -> None:
    """Closed (the default): the loopback server is never asked. Redirects are not followed."""
    from outdial.telephony.sip.audio import AudioError
    from outdial.telephony.sip.library import AudioLibrary, fetch

    closed = AudioLibrary(SpeechSynth(tmp_path, espeak=None, sox=None), sox=None)
    with pytest.raises(AudioError, match="loopback"):
        await closed.file(http_wav, 0)
    localhost = http_wav.replace("127.0.0.1", "localhost")
    with pytest.raises(AudioError, match="loopback"):
        await closed.file(localhost, 0)
    opened = NetworkPolicy.from_text("127.0.0.0/8,::1/128")
    assert len(await fetch(localhost, opened, 5)) > 1000
    redirect = http_wav.rsplit("/", 1)[0] + "/moved"  # the server answers 301 for a directory
    (tmp_path / "moved").mkdir()
    with pytest.raises(AudioError, match="HTTP 301"):
        await fetch(redirect, opened, 5)


async def test_sleep_silence_is_made_as_it_is_sent(tmp_path: Path) -> None:
    """An hour of sleep never allocates an hour of audio: one-second blocks, two queued."""
    from outdial.telephony.sip.library import AudioLibrary

    class Stream:
        payload_type = 0

        def __init__(self) -> None:
            self.sizes: list[int] = []
            self.queued = 0
            self.most_queued = 0

        def play(self, payload: bytes) -> asyncio.Future[None]:
            self.sizes.append(len(payload))
            self.queued += 1
            self.most_queued = max(self.most_queued, self.queued)
            done = asyncio.get_running_loop().create_future()

            def finish() -> None:
                self.queued -= 1
                done.set_result(None)

            asyncio.get_running_loop().call_soon(finish)
            return done

    stream = Stream()
    library = AudioLibrary(SpeechSynth(tmp_path, espeak=None, sox=None), sox=None)
    await library.play_silence(stream, 3_600_000 + 250)  # type: ignore[arg-type]
    assert sum(stream.sizes) == (3_600_000 + 250) * 8
    assert max(stream.sizes) == 8000 and stream.sizes[-1] == 2000
    assert stream.most_queued <= 2


@pytest.fixture
def espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("espeak-ng is required in CI")
        pytest.skip("espeak-ng is not installed")
    return path


async def test_talk_is_spoken_and_cached(
    espeak: str, peer: SipAnsweringPeer, telephony, kit: SimpleNamespace
) -> None:
    tel = await telephony(("127.0.0.1", peer.port))
    talk = {
        "type": "talk",
        "option": {"text": "Your appointment is tomorrow.", "language": "en-US"},
    }
    requests = [kit.call_request(kit.tel(f"+1555000{i}"), actions=[talk]) for i in range(3)]
    rendered_before = tel.synth.rendered
    outcomes = await asyncio.gather(*(tel.place_call(r, kit.no_op) for r in requests))
    assert all(o.reason is HangupReason.NORMAL for o in outcomes)
    assert tel.synth.rendered - rendered_before <= 1  # rendered once, cached for the others
    for request in requests:
        stats = tel.media_stats(str(request.call_id))
        assert stats is not None and stats.sent_packets > 50  # well over a second of speech
    assert peer.rtp_packets()[str(requests[0].call_id)] > 50


async def test_speech_cache_and_voices(espeak: str, tmp_path: Path) -> None:
    synth = SpeechSynth(tmp_path, espeak=espeak, sox=shutil.which("sox"))
    assert await synth.voice_for("en-US") == "en-us"
    assert await synth.voice_for("de-DE") == "de"
    assert await synth.voice_for("xx-YY") == "en-us"
    first = await synth.render("Hello.", "en-US")
    second = await synth.render("Hello.", "en-us")
    assert first == second and synth.rendered == 1
    with wave.open(str(first)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (8000, 1, 2)
    no_sox = SpeechSynth(tmp_path / "py", espeak=espeak, sox=None)
    with wave.open(str(await no_sox.render("Hello.", "en-US"))) as wav:
        assert wav.getframerate() == 8000 and wav.getnframes() > 4000
