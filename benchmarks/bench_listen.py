"""CPU cost of listening: 300 concurrent answered calls, 50 frames a second each (issue 12).

    python -m benchmarks.bench_listen [--calls 300] [--seconds 10] [--cache-dir DIR]

Each call's far end is a stretch of the AMD corpus (benchmarks/listen_corpus.py: speech,
noise, beeps, quiet), offset per call. Calls are served round-robin, one 20 ms frame each per
tick, as a media clock would. Measured as process CPU time per call per frame, and as the
share of one core that 300 calls x 50 frames/s take:

- receive: RTP parse + `RtpReceiver` (jitter buffer, telephone-event check) + G.711 decode,
  per call (`pop`) and with one decode for all calls per tick (`pop_coded` +
  `g711.decode_frames`);
- listen: AMD (until it decides) + in-band DTMF (all the time), what every call runs, fed per
  call (`CallListener.feed`) and per tick for all calls (`listener.listen`);
- listen + drop cue: the same with the beep detector on from the start, every detector busy
  on every frame (the worst case).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: see outdial.telephony.listen

import argparse
import time
from collections.abc import Callable

import numpy as np

from benchmarks.listen_corpus import build, cache_dir
from outdial.telephony.listen import AmdSettings, CallListener, RtpReceiver
from outdial.telephony.listen.g711 import decode_frames
from outdial.telephony.listen.listener import listen
from outdial.telephony.sip import g711 as sip_g711
from outdial.telephony.sip.rtp import RtpPacket, RtpPacketizer


def call_audio(calls: int, seconds: float, cache: str | None) -> list[list[np.ndarray]]:
    """`calls` lists of int16 frames, `seconds` long each, cut from the corpus."""
    corpus = np.concatenate([i.audio for i in build(cache_dir(cache), per_kind=12)])
    n = int(seconds * 50)
    out = []
    for c in range(calls):
        start = (c * 7919 * 160) % (len(corpus) - n * 160)
        x = corpus[start : start + n * 160]
        out.append(list(x.reshape(n, 160)))
    return out


def timed(name: str, calls: int, frames: int, work: Callable[[], None], load: list[float]) -> None:
    load.append(os.getloadavg()[0])
    started = time.process_time()
    work()
    cpu = time.process_time() - started
    per_frame = cpu / (calls * frames)
    core = per_frame * 50 * 300
    print(f"{name:<34}{1e6 * per_frame:8.1f} µs/frame {100 * core:8.1f} % of a core for 300 calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cache-dir", default=None)
    args = parser.parse_args()
    audio = call_audio(args.calls, args.seconds, args.cache_dir)
    frames = len(audio[0])
    ticks = range(frames)
    calls = range(args.calls)
    print(f"{args.calls} calls x {args.seconds:.0f} s of audio ({args.calls * frames} frames)\n")

    packets: list[list[bytes]] = []
    for c in calls:
        packetizer = RtpPacketizer(0, ssrc=c)
        pcm = np.concatenate(audio[c]).astype("<i2").tobytes()
        payload = sip_g711.encode(pcm, 0)
        packets.append(
            [packetizer.packet(payload[i : i + 160]) for i in range(0, len(pcm) // 2, 160)]
        )

    load: list[float] = []
    n = args.calls

    def receive(batched: bool) -> Callable[[], None]:
        def run() -> None:
            receivers = [RtpReceiver() for _ in calls]
            for t in ticks:
                if batched:
                    coded = []
                    for c in calls:
                        receivers[c].push(RtpPacket.parse(packets[c][t]))
                        coded.append(receivers[c].pop_coded(force=True))
                    decode_frames([f for f in coded if f is not None])
                else:
                    for c in calls:
                        receivers[c].push(RtpPacket.parse(packets[c][t]))
                        receivers[c].pop(force=True)

        return run

    def listeners(drop: bool) -> list[CallListener]:
        ears = [CallListener(amd=AmdSettings()) for _ in calls]
        for ear in ears if drop else []:
            ear.wait_for_beep()
        return ears

    def per_call(drop: bool) -> Callable[[], None]:
        def run() -> None:
            ears = listeners(drop)
            for t in ticks:
                for c in calls:
                    ears[c].feed(audio[c][t])

        return run

    by_tick = [np.stack([audio[c][t] for c in calls]) for t in ticks]

    def batched(drop: bool) -> Callable[[], None]:
        def run() -> None:
            ears = listeners(drop)
            for t in ticks:
                listen(ears, by_tick[t])

        return run

    timed("receive, decode per call", n, frames, receive(False), load)
    timed("receive, decode per tick", n, frames, receive(True), load)
    timed("listen (AMD + DTMF) per call", n, frames, per_call(False), load)
    timed("listen (AMD + DTMF) per tick", n, frames, batched(False), load)
    timed("listen + drop cue per call", n, frames, per_call(True), load)
    timed("listen + drop cue per tick", n, frames, batched(True), load)
    print(f"\nload average {min(load):.1f}-{max(load):.1f} (2 cores shared)")


if __name__ == "__main__":
    main()
