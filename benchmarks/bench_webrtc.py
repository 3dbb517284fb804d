"""The browser phone's CPU cost (telephony/webrtc.py, sip/b2bua.py `bridge_local`).

1. The bridge's own work per 20 ms frame: the callee's G.711 decoded to PCM for the phone and
   the phone's PCM encoded to G.711 for the callee (one frame each way).
2. Whole WebRTC sessions: `--phones` aiortc clients in this process (a 440 Hz tone at 48 kHz,
   as a browser's microphone) connected to a `PhoneBook`, each phone attached to an echo (its
   audio fed back to `hear`), so audio flows both ways through PCMU, SRTP and the resampler.
   The CPU time of the process over `--seconds` counts both ends (client and server): the
   server's share is below the figure printed.

CPU time (time.process_time), not wall-clock: the machine is shared.

    .venv/bin/python -m benchmarks.bench_webrtc --phones 4 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import math
import time
import uuid
from array import array
from typing import Any

from outdial.telephony.sip import b2bua, g711


def frame_cost(frames: int, fast: bool) -> float:
    """CPU µs per frame, both ways: `bridge_local`'s numpy tables, or g711.decode/encode."""
    pcm = array("h", (int(8000 * math.sin(2 * math.pi * 440 * n / 8000)) for n in range(160)))
    data = pcm.tobytes()
    payload = g711.encode(data, 0)
    decode = b2bua.pcm_from_g711 if fast else g711.decode
    encode = b2bua.g711_from_pcm if fast else g711.encode
    assert decode(payload, 0) == g711.decode(payload, 0)  # the same audio either way
    assert encode(data, 0) == payload
    start = time.process_time()
    for _ in range(frames):
        decode(payload, 0)
        encode(data, 0)
    return (time.process_time() - start) / frames * 1e6


async def sessions(phones: int, seconds: float) -> dict[str, float]:
    import av
    from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

    from outdial.telephony.webrtc import PhoneBook

    class Tone(MediaStreamTrack):  # type: ignore[misc]
        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.n, self.start = 0, time.monotonic()
            wave = (int(8000 * math.sin(2 * math.pi * 440 * i / 48000)) for i in range(960))
            self.pcm = array("h", wave).tobytes()

        async def recv(self) -> Any:
            wait = self.start + self.n / 48000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            frame = av.AudioFrame(format="s16", layout="mono", samples=960)
            frame.planes[0].update(self.pcm)
            frame.pts, frame.sample_rate = self.n, 48000
            frame.time_base = fractions.Fraction(1, 48000)
            self.n += 960
            return frame

    received = [0]

    async def drain(track: Any) -> None:
        while True:
            try:
                await track.recv()
            except Exception:
                return
            received[0] += 1

    book = PhoneBook()
    clients: list[Any] = []
    tasks: list[asyncio.Task[None]] = []
    customer = uuid.uuid4()
    for _ in range(phones):
        pc = RTCPeerConnection()
        pc.addTrack(Tone())
        pc.on("track", lambda track: tasks.append(asyncio.create_task(drain(track))))
        await pc.setLocalDescription(await pc.createOffer())
        agent = uuid.uuid4()
        answer = await book.open(customer, agent, pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        clients.append(pc)
        phone = book.get(customer, agent)
        assert phone is not None
        phone.attach(phone.hear)  # an echo: what the phone says comes back to it
    for _ in range(200):
        if all(p.state == "connected" for p in book.phones.values()):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # past the start
    spoken0 = sum(p.spoken_frames for p in book.phones.values())
    received0 = received[0]
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    spoken = sum(p.spoken_frames for p in book.phones.values()) - spoken0
    got = received[0] - received0
    for pc in clients:
        await pc.close()
    await book.close_all()
    for task in tasks:
        task.cancel()
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "cpu_per_phone_pct": 100 * cpu / wall / phones,
        "frames_to_callee_per_s": spoken / wall / phones,
        "frames_to_browser_per_s": got / wall / phones,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--phones", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=20_000)
    args = parser.parse_args()
    for fast, name in ((False, "g711.decode/encode"), (True, "bridge_local's numpy tables")):
        us = frame_cost(args.frames if fast else args.frames // 10, fast)
        print(f"G.711 work with {name}: {us:.1f} CPU µs per 20 ms frame both ways "
              f"({us * 50 / 1e4:.3f} % of a core per connected call)")  # fmt: skip
    got = asyncio.run(sessions(args.phones, args.seconds))
    print(f"{args.phones} WebRTC phones (client and server in one process) for "
          f"{got['wall_s']:.1f} s: {got['cpu_s']:.2f} CPU s, "
          f"{got['cpu_per_phone_pct']:.1f} % of a core per phone; per phone and second "
          f"{got['frames_to_callee_per_s']:.1f} frames toward the callee, "
          f"{got['frames_to_browser_per_s']:.1f} to the browser")  # fmt: skip


if __name__ == "__main__":
    main()
