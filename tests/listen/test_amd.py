"""Answering-machine detection on generated audio: the cadence rules, noise, loss, settings."""

from __future__ import annotations

import numpy as np
import pytest

from outdial.telephony.listen import AmdDetector, AmdResult, AmdSettings, AmdStatus, EnergyVad
from outdial.telephony.listen.amd import amd_settings_for
from tests.listen.signals import frames, greeting, mix, noise, silence, speech

HELLO = speech([0.25, 0.35])  # "hel-lo?", 0.68 s


def detect(x: np.ndarray, settings: AmdSettings | None = None) -> AmdResult:
    detector = AmdDetector(settings)
    for frame in frames(x):
        result = detector.feed(frame)
        if result is not None:
            assert detector.result is result
            return result
    return detector.finish()


def test_a_short_hello_then_quiet_is_a_human_decided_after_the_silence() -> None:
    result = detect(mix((0.5, HELLO), seconds=6))
    assert (result.status, result.cause, result.words) == (AmdStatus.HUMAN, "human", 1)
    # the hello ends at 1.18 s; 800 ms of quiet after it decide
    assert 1900 <= result.ms <= 2100


def test_a_long_greeting_is_a_machine_once_its_voice_adds_up() -> None:
    result = detect(mix((0.4, greeting(6)), seconds=8))
    assert (result.status, result.cause) == (AmdStatus.MACHINE, "long_greeting")
    assert result.voice_ms == 1500
    assert result.ms < 3000


def test_many_short_words_are_a_machine() -> None:
    words = speech([0.15] * 5, gaps=0.2)  # five words, 0.75 s of voice in all
    result = detect(mix((0.3, words), seconds=6))
    assert (result.status, result.cause, result.words) == (AmdStatus.MACHINE, "max_words", 4)


def test_one_endless_word_is_a_machine() -> None:
    settings = AmdSettings(greeting_ms=10_000, max_word_ms=2000, total_analysis_ms=10_000)
    hum = speech([3.0])
    result = detect(mix((0.2, hum), seconds=5), settings)
    assert (result.status, result.cause) == (AmdStatus.MACHINE, "max_word_length")
    assert 2100 <= result.ms <= 2400


def test_silence_is_notsure_at_the_initial_silence_limit() -> None:
    result = detect(silence(6))
    assert (result.status, result.cause, result.ms) == (AmdStatus.NOTSURE, "initial_silence", 2500)


def test_steady_noise_is_not_voice_even_above_the_absolute_gate() -> None:
    # -30 dBm0 of hiss is above the -35 dBm0 gate: only the tracked noise floor rejects it
    result = detect(noise(6, -30))
    assert result.status is AmdStatus.NOTSURE
    assert result.voice_ms <= 100


def test_a_human_in_background_noise_is_still_a_human() -> None:
    result = detect(mix((0.0, noise(6, -36)), (0.5, HELLO)))
    assert (result.status, result.cause) == (AmdStatus.HUMAN, "human")


def test_lost_packets_filled_with_zeros_do_not_pull_the_noise_floor_down() -> None:
    x = mix((0.0, noise(6, -32)), (0.5, HELLO))
    for lost in (1.5, 1.7, 2.0, 2.3):  # zero frames, as the jitter buffer fills losses
        start = round(lost * 8000) // 160 * 160
        x[start : start + 160] = 0
    result = detect(x)
    assert (result.status, result.cause) == (AmdStatus.HUMAN, "human")


def test_nothing_decided_within_the_analysis_time_is_notsure_too_long() -> None:
    settings = AmdSettings(total_analysis_ms=1000)
    result = detect(mix((0.3, greeting(3)), seconds=4), settings)
    assert (result.status, result.cause, result.ms) == (AmdStatus.NOTSURE, "too_long", 1000)


def test_audio_that_ends_first_is_notsure() -> None:
    assert AmdDetector().finish().cause == "no_audio"
    detector = AmdDetector()
    for frame in frames(silence(1.0)):
        assert detector.feed(frame) is None
    assert (detector.finish().status, detector.finish().cause) == (AmdStatus.NOTSURE, "too_long")


def test_the_decision_comes_once_and_stays() -> None:
    detector = AmdDetector()
    results = [detector.feed(frame) for frame in frames(mix((0.5, HELLO), seconds=6))]
    decided = [r for r in results if r is not None]
    assert len(decided) == 1 and detector.result == decided[0]


def test_bytes_and_arrays_give_the_same_decision_at_the_same_time() -> None:
    x = mix((0.4, greeting(5, seed=3)), (0.0, noise(6, -45)))
    as_arrays = detect(x)
    detector = AmdDetector()
    as_bytes = next(r for f in frames(x) if (r := detector.feed(f.tobytes())) is not None)
    assert as_arrays == as_bytes


def test_thresholds_are_settings() -> None:
    x = mix((0.5, HELLO), seconds=6)
    quick = detect(x, AmdSettings(after_greeting_silence_ms=400))
    slow = detect(x, AmdSettings(after_greeting_silence_ms=1200))
    assert quick.status is slow.status is AmdStatus.HUMAN
    assert slow.ms - quick.ms == 800


@pytest.mark.parametrize(
    "bad",
    [
        {"greeting_ms": 0},
        {"after_greeting_silence_ms": 70_000},
        {"max_words": 0},
        {"initial_silence_ms": 1.5},
        {"vad": "neural"},
    ],
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        AmdSettings(**bad)  # type: ignore[arg-type]


def test_energy_vad_tracks_the_floor_and_keeps_a_range_below_the_loudest() -> None:
    vad = EnergyVad()
    heard = [vad.is_voice(f) for f in frames(noise(2, -30))]
    assert sum(heard[5:]) == 0  # the floor learnt the hiss
    loud = frames(speech([0.5], dbm0=-10))
    assert sum(vad.is_voice(f) for f in loud) > 10
    # 25 dB below what was just heard: background, not the callee
    assert not any(vad.is_voice(f) for f in frames(speech([0.4], dbm0=-35))[3:])


def _decide(settings: AmdSettings, voiced: list[bool]) -> AmdResult | None:
    detector = AmdDetector(settings)
    for v in voiced:
        if (got := detector.step(v)) is not None:
            return got
    return None


def test_an_amd_actions_thresholds_tune_the_detector() -> None:
    """Two seconds of talk then quiet: a machine by the default greeting length (1.5 s), a
    person once the campaign's `amd` action allows a 3 s greeting."""
    talk = [True] * 100 + [False] * 60
    plain = amd_settings_for([{"type": "talk"}, {"type": "amd", "option": {}}])
    assert plain == AmdSettings()
    assert (got := _decide(plain, talk)) is not None and got.status is AmdStatus.MACHINE
    tuned = amd_settings_for(
        [{"type": "amd", "option": {"greeting": 3000, "after_greeting_silence": 600}}]
    )
    assert tuned.greeting_ms == 3000 and tuned.after_greeting_silence_ms == 600
    got = _decide(tuned, talk)
    assert got is not None and (got.status, got.ms) == (AmdStatus.HUMAN, 2600)


def test_every_threshold_option_reaches_its_setting() -> None:
    option = {
        "initial_silence": 3000, "greeting": 2000, "after_greeting_silence": 900,
        "total_analysis_time": 6000, "min_word_length": 120, "between_words_silence": 200,
        "maximum_number_of_words": 4, "maximum_word_length": 4000,
    }  # fmt: skip
    got = amd_settings_for([{"type": "amd", "option": option}])
    assert (got.initial_silence_ms, got.greeting_ms, got.after_greeting_silence_ms) == (
        3000, 2000, 900,
    )  # fmt: skip
    assert (got.total_analysis_ms, got.min_word_ms, got.between_words_silence_ms) == (
        6000, 120, 200,
    )  # fmt: skip
    assert (got.max_words, got.max_word_ms) == (4, 4000)
    assert amd_settings_for([]) == AmdSettings()
