"""Answering-machine detection, beep detection and the voicemail-drop cue on a generated corpus
(issue 12).

    python -m benchmarks.bench_amd [--per-kind 120] [--cache-dir DIR] [--tune] [--vad webrtc]

The corpus (benchmarks/listen_corpus.py: espeak-ng greetings in eight languages, noise, G.711,
RTP loss and reordering, the jitter buffer) is split by voice variant into `train` and `test`.
The defaults of `AmdSettings` were chosen with `--tune` on `train` (a grid over the cadence
thresholds and the VAD's levels); the figures that matter are those of `test`, which tuning
never saw. Prints, per split: the confusion matrix, human/machine accuracy (notsure counts as
wrong), decision times; then beep detection (rate, end-time error, false beeps) and the
voicemail-drop cue started when AMD says machine (as `wait_for_beep` would).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: see outdial.telephony.listen

import argparse
import dataclasses
import itertools
import statistics
import time
from collections import Counter
from collections.abc import Sequence

import numpy as np

from benchmarks.listen_corpus import Item, build, cache_dir
from outdial.telephony.listen import (
    AmdDetector,
    AmdResult,
    AmdSettings,
    BeepDetector,
    VoicemailDropDetector,
)
from outdial.telephony.listen.frames import FRAME_MS
from outdial.telephony.listen.vad import EnergyVad, Vad, WebRtcVad


def frames(item: Item) -> list[np.ndarray]:
    x = item.audio
    return [x[i : i + 160] for i in range(0, len(x) - 159, 160)]


def run_amd(item: Item, settings: AmdSettings) -> AmdResult:
    detector = AmdDetector(settings)
    for frame in frames(item):
        if (result := detector.feed(frame)) is not None:
            return result
    return detector.finish()


def voiced(item: Item, vad: Vad, seconds: float = 6.0) -> list[bool]:
    return [vad.is_voice(f) for f in frames(item)[: int(seconds * 50)]]


def decide(decisions: Sequence[bool], settings: AmdSettings) -> AmdResult:
    detector = AmdDetector(settings, vad=EnergyVad())  # the VAD is not used: step() is fed
    for v in decisions:
        if (result := detector.step(v)) is not None:
            return result
    return detector.finish()


def report_amd(name: str, items: list[Item], results: list[AmdResult]) -> None:
    matrix = Counter((i.kind, r.status.value) for i, r in zip(items, results, strict=True))
    right = matrix["human", "human"] + matrix["machine", "machine"]
    human_ms = [r.ms for i, r in zip(items, results, strict=True) if i.kind == r.status == "human"]
    machine_ms = [r.ms for i, r in zip(items, results, strict=True) if i.kind == "machine"
                  and r.status == "machine"]  # fmt: skip
    print(f"\n[{name}] {len(items)} calls ({sum(i.kind == 'human' for i in items)} human)")
    print(f"  {'truth / said':<14}{'human':>8}{'machine':>9}{'notsure':>9}")
    for kind in ("human", "machine"):
        row = [matrix[kind, s] for s in ("human", "machine", "notsure")]
        print(f"  {kind:<14}{row[0]:>8}{row[1]:>9}{row[2]:>9}")
    print(f"  accuracy {100 * right / len(items):.1f} %")
    if human_ms:
        q = statistics.quantiles(human_ms, n=10)
        print(f"  human decided after answer: median {statistics.median(human_ms) / 1000:.2f} s,"
              f" p90 {q[-1] / 1000:.2f} s")  # fmt: skip
    if machine_ms:
        print(
            f"  machine decided after answer: median {statistics.median(machine_ms) / 1000:.2f} s"
        )
    wrong = [(i, r) for i, r in zip(items, results, strict=True) if i.kind != r.status]
    for item, result in wrong:
        print(f"    miss #{item.index} {item.kind} -> {result.status.value} ({result.cause} at "
              f"{result.ms} ms) {item.voice} {item.text[:30]!r} noise={item.noise} "
              f"snr={item.snr_db} dB")  # fmt: skip


def report_beeps(items: list[Item], results: list[AmdResult]) -> None:
    with_beep = [i for i in items if i.beep is not None]
    found, errors, false_beeps, late = 0, [], Counter[str](), []
    for item in items:
        detector = BeepDetector()
        events = [e for f in frames(item) if (e := detector.feed(f)) is not None]
        hits = [e for e in events if item.beep and abs(e.end_ms - item.beep[1]) <= 100]
        if item.beep and hits:
            found += 1
            errors.append(hits[0].end_ms - item.beep[1])
            late.append(hits[0].detected_ms - item.beep[1])
        for _ in [e for e in events if e not in hits]:
            false_beeps[item.kind if item.beep is None or item.kind == "human" else "greeting"] += 1
    print(f"\n[beep] {found}/{len(with_beep)} beeps found"
          f" ({100 * found / max(1, len(with_beep)):.1f} %)")  # fmt: skip
    if errors:
        abs_err = sorted(abs(e) for e in errors)
        print(f"  end time error: median {statistics.median(abs_err):.0f} ms,"
              f" p95 {abs_err[int(0.95 * (len(abs_err) - 1))]:.0f} ms, max {abs_err[-1]} ms;"
              f" reported {statistics.median(late):.0f} ms after the end (median)")  # fmt: skip
    print(
        f"  false beeps: {sum(false_beeps.values())} ({dict(false_beeps) or 'none'}) in "
        f"{sum(len(i.audio) for i in items) / 8000 / 60:.0f} min of audio"
    )

    cues: Counter[str] = Counter()
    early, offsets = 0, []
    for item, result in zip(items, results, strict=True):
        if item.kind != "machine" or result.status != "machine":
            continue
        start = result.ms // FRAME_MS
        drop = VoicemailDropDetector(start_ms=result.ms)
        cue = next((c for f in frames(item)[start:] if (c := drop.feed(f)) is not None), None)
        if cue is None:
            cues["none"] += 1
            continue
        cues[cue.reason] += 1
        after = item.beep[1] if item.beep else item.greeting_end_ms
        offsets.append(cue.ms - after)
        early += cue.ms < after
    print(f"\n[drop cue] from the AMD decision on {sum(cues.values())} machines: {dict(cues)}")
    if offsets:
        print(
            f"  after the beep's end (or the greeting's end when no beep): median"
            f" {statistics.median(offsets)} ms, max {max(offsets)} ms; before it: {early}"
        )


def tune(train: list[Item], test: list[Item]) -> None:
    """Grid over the VAD's levels and the cadence thresholds on `train`; best by accuracy, then
    by median human decision time."""
    grid = {
        "after_greeting_silence_ms": [600, 800, 1000],
        "greeting_ms": [1500, 2000],
        "max_words": [2, 3, 4, 5],
        "between_words_silence_ms": [50, 100, 150],
        "min_word_ms": [60, 100, 150],
    }
    vads = itertools.product([9.0, 12.0, 15.0], [-40.0, -35.0], [0.0, 20.0])
    best: tuple[tuple[float, float], AmdSettings] | None = None
    for margin, minimum, span in vads:
        seqs = [voiced(i, EnergyVad(margin_db=margin, min_dbm0=minimum, range_db=span))
                for i in train]  # fmt: skip
        for combo in itertools.product(*grid.values()):
            settings = AmdSettings(**dict(zip(grid, combo, strict=True)), vad_margin_db=margin,
                                   vad_min_dbm0=minimum, vad_range_db=span)  # fmt: skip
            results = [decide(s, settings) for s in seqs]
            score = score_of(train, results)
            if best is None or score > best[0]:
                best = (score, settings)
    assert best is not None
    (accuracy, neg_median), settings = best
    changed = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)
               if getattr(settings, f.name) != getattr(AmdSettings(), f.name)}  # fmt: skip
    print(
        f"\n[tune] best on train: {100 * accuracy:.1f} %, human median {-neg_median:.0f} ms;"
        f" differs from the defaults in: {changed or 'nothing'}"
    )
    test_results = [run_amd(i, settings) for i in test]
    print(f"  the same settings on test: {100 * score_of(test, test_results)[0]:.1f} %")


def score_of(items: list[Item], results: list[AmdResult]) -> tuple[float, float]:
    right = sum(i.kind == r.status for i, r in zip(items, results, strict=True))
    human = [r.ms for i, r in zip(items, results, strict=True) if i.kind == r.status == "human"]
    return right / len(items), -(statistics.median(human) if human else 1e9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-kind", type=int, default=120, help="calls of each kind")
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--tune", action="store_true", help="grid-search the thresholds on train")
    parser.add_argument("--vad", choices=["energy", "webrtc"], default="energy")
    args = parser.parse_args()

    started = time.perf_counter()
    items = list(build(cache_dir(args.cache_dir), args.per_kind, args.seed))
    minutes = sum(len(i.audio) for i in items) / 8000 / 60
    print(
        f"corpus: {len(items)} calls, {minutes:.0f} min of audio, "
        f"{len({i.voice for i in items})} voices, {len({i.language for i in items})} languages,"
        f" built in {time.perf_counter() - started:.0f} s (cache {cache_dir(args.cache_dir)})"
    )
    lengths = [(i.greeting_end_ms - i.speech_start_ms) / 1000 for i in items if i.kind == "machine"]
    print(
        f"machine greetings {min(lengths):.1f}-{max(lengths):.1f} s; "
        f"{sum(i.beep is not None for i in items)} beeps of "
        f"{len({i.beep[2] for i in items if i.beep})} pitches"
    )
    settings = AmdSettings(vad=args.vad)
    if args.vad == "webrtc":
        WebRtcVad()  # fails early when webrtcvad-wheels is not installed
    print(f"AMD settings: {settings}")

    split = {s: [i for i in items if i.split == s] for s in ("train", "test")}
    cpu = time.process_time()
    results = {s: [run_amd(i, settings) for i in split[s]] for s in split}
    frames_fed = sum(r.ms // FRAME_MS for rs in results.values() for r in rs)
    cpu = time.process_time() - cpu
    for name in ("train", "test"):
        report_amd(name, split[name], results[name])
    print(f"\nAMD CPU: {1e6 * cpu / max(1, frames_fed):.1f} µs per 20 ms frame")
    report_beeps(split["train"] + split["test"], results["train"] + results["test"])
    if args.tune:
        tune(split["train"], split["test"])
    print(f"\nload average {os.getloadavg()[0]:.1f} (2 cores shared)")


if __name__ == "__main__":
    main()
