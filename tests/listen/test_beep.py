"""The voicemail beep on generated audio: pitches, lengths, edges, noise, speech, look-alikes."""

from __future__ import annotations

import numpy as np
import pytest

from outdial.telephony.listen import BeepDetector, BeepEvent, BeepSettings
from tests.listen.signals import dtmf, frames, greeting, mix, noise, silence, speech, tone


def beeps(x: np.ndarray, settings: BeepSettings | None = None) -> list[BeepEvent]:
    detector = BeepDetector(settings)
    found = [e for f in frames(np.concatenate([x, silence(0.2)])) if (e := detector.feed(f))]
    assert found == detector.events
    return found


@pytest.mark.parametrize(
    ("freq", "seconds", "at"),
    [
        (400, 0.2, 0.5),
        (440, 0.25, 0.3333),
        (1000, 0.5, 1.0),
        (1000, 0.2, 0.123),
        (1400, 1.2, 0.777),
        (1987, 0.3, 0.2),
        (2000, 0.8, 0.41),
    ],
)
def test_a_steady_tone_of_200_ms_or_more_is_a_beep_timed_to_a_few_ms(
    freq: float, seconds: float, at: float
) -> None:
    [beep] = beeps(mix((at, tone(freq, seconds, -14)), seconds=at + seconds + 0.5))
    assert abs(beep.start_ms - at * 1000) <= 5
    assert abs(beep.end_ms - (at + seconds) * 1000) <= 5
    assert abs(beep.frequency_hz - freq) <= 5
    assert abs(beep.level_dbm0 - -14) <= 1.5
    # reported at its trailing edge: after the end, within 80 ms
    assert 0 < beep.detected_ms - beep.end_ms <= 80


@pytest.mark.parametrize("seconds", [0.1, 0.15, 0.17])
def test_shorter_tones_are_not_beeps(seconds: float) -> None:
    assert beeps(mix((0.5, tone(1000, seconds)), seconds=1.5)) == []


@pytest.mark.parametrize("freq", [300, 350, 2300, 3000])
def test_tones_outside_400_to_2000_hz_are_not_beeps(freq: float) -> None:
    assert beeps(mix((0.5, tone(freq, 0.5)), seconds=1.5)) == []


def test_a_tone_that_goes_on_past_the_maximum_is_not_a_beep() -> None:
    assert beeps(mix((0.2, tone(1000, 5.0)), seconds=6)) == []
    assert len(beeps(mix((0.2, tone(1000, 5.0)), seconds=6), BeepSettings(max_ms=6000))) == 1


def test_too_quiet_is_not_a_beep() -> None:
    assert beeps(mix((0.5, tone(1000, 0.5, -46)), seconds=1.5)) == []


def test_dual_tones_and_dtmf_are_not_beeps() -> None:
    ringback = tone(440, 1.0, -16) + tone(480, 1.0, -16)
    busy = tone(480, 0.5, -16) + tone(620, 0.5, -16)
    assert beeps(mix((0.2, ringback), (1.5, busy), (2.3, dtmf("5", 0.3)), seconds=3.5)) == []


def test_special_information_tones_are_a_sequence_not_a_beep() -> None:
    sit = np.concatenate([tone(913.8, 0.274), tone(1370.6, 0.274), tone(1776.7, 0.380)])
    assert beeps(mix((0.3, sit), seconds=2)) == []


def test_a_beep_in_noise_20_db_down_is_found() -> None:
    x = mix((0.0, noise(2.5, -34)), (0.9, tone(850, 0.4, -14)))
    [beep] = beeps(x)
    assert abs(beep.end_ms - 1300) <= 10


def test_one_lost_frame_inside_a_beep_is_bridged() -> None:
    x = mix((0.5, tone(1000, 0.5, -14)), seconds=1.5)
    x[round(0.7 * 8000) // 160 * 160 :][:160] = 0  # the jitter buffer's silence for a loss
    [beep] = beeps(x)
    assert (abs(beep.start_ms - 500) <= 5, abs(beep.end_ms - 1000) <= 5) == (True, True)


def test_speech_is_not_a_beep_and_the_beep_after_it_is() -> None:
    assert beeps(np.concatenate([greeting(20, seed=s) for s in range(3)])) == []
    assert beeps(speech([0.6, 0.9, 1.2], gaps=0.1, f0=210)) == []  # long sung-like vowels
    x = mix((0.3, greeting(6)), (6.8, tone(1000, 0.5, -12)), seconds=8)
    [beep] = beeps(x)
    assert abs(beep.end_ms - 7300) <= 5


def test_two_beeps_are_both_reported() -> None:
    x = mix((0.2, tone(1000, 0.3)), (1.0, tone(600, 0.4)), seconds=2)
    assert [round(b.frequency_hz, -1) for b in beeps(x)] == [1000, 600]


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        BeepSettings(min_hz=2000, max_hz=400)
    with pytest.raises(ValueError):
        BeepSettings(min_ms=10)
    with pytest.raises(ValueError):
        BeepSettings(purity=0.1)
