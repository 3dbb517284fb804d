"""In-band DTMF on generated audio: every key, Q.24 timing, twist, frequency, level, noise,
and no talk-off on speech."""

from __future__ import annotations

import numpy as np
import pytest

from outdial.telephony.listen import DigitEvent, DtmfDetector, DtmfSettings
from tests.listen.signals import dtmf, dtmf_sequence, frames, greeting, mix, noise, silence, tone

ALL = "1234567890*#ABCD"


def keys(x: np.ndarray, settings: DtmfSettings | None = None) -> list[DigitEvent]:
    detector = DtmfDetector(settings)
    found: list[DigitEvent] = []
    for frame in frames(x):
        found += detector.feed(frame)
    return found + detector.flush()


def typed(x: np.ndarray, settings: DtmfSettings | None = None) -> str:
    return "".join(e.digit for e in keys(x, settings))


def test_every_key_is_heard_in_order() -> None:
    assert typed(dtmf_sequence(ALL)) == ALL


def test_a_key_reports_its_start_duration_and_level() -> None:
    [event] = keys(mix((0.2, dtmf("7", 0.1, -15)), seconds=1))
    assert (event.digit, event.source) == ("7", "inband")
    assert event.start_ms is not None and abs(event.start_ms - 200) <= 10
    assert abs(event.duration_ms - 100) <= 20
    assert event.level_dbm0 is not None and abs(event.level_dbm0 - -15) <= 1


def test_40_ms_tones_with_40_ms_pauses_are_all_heard() -> None:
    assert typed(dtmf_sequence(ALL, on=0.04, off=0.04)) == ALL


@pytest.mark.parametrize("shift_ms", [0, 1.3, 2.7, 4, 5.3, 6.7, 8, 9.3])
def test_q24_timing_at_every_alignment_with_the_frames(shift_ms: float) -> None:
    lead = silence(0.1 + shift_ms / 1000)
    assert typed(np.concatenate([lead, dtmf("5", 0.04), silence(0.2)])) == "5"
    assert typed(np.concatenate([lead, dtmf("5", 0.02), silence(0.2)])) == ""
    # a 10 ms break does not split a key; a 40 ms pause does
    broken = [dtmf("5", 0.1), silence(0.01), dtmf("5", 0.1)]
    paused = [dtmf("5", 0.1), silence(0.04), dtmf("5", 0.1)]
    assert typed(np.concatenate([lead, *broken, silence(0.2)])) == "5"
    assert typed(np.concatenate([lead, *paused, silence(0.2)])) == "55"


@pytest.mark.parametrize(("twist_db", "heard"), [(6, True), (-3, True), (10, False), (-6, False)])
def test_twist_limits(twist_db: float, heard: bool) -> None:
    # positive: the low tone louder (normal twist, up to 8 dB); negative: reverse (up to 4 dB)
    assert typed(dtmf_sequence(ALL, twist_db=twist_db)) == (ALL if heard else "")


@pytest.mark.parametrize(("deviation", "heard"), [(0.015, True), (-0.015, True), (0.02, True),
                                                  (0.035, False), (-0.035, False)])  # fmt: skip
def test_frequency_tolerance(deviation: float, heard: bool) -> None:
    # Q.24: tones within 1.5 % must be accepted, tones 3.5 % off must not
    assert typed(dtmf_sequence(ALL, deviation=deviation)) == (ALL if heard else "")


@pytest.mark.parametrize(("dbm0", "heard"), [(-5, True), (-25, True), (-32, True), (-45, False)])
def test_levels(dbm0: float, heard: bool) -> None:
    assert typed(dtmf_sequence(ALL, dbm0=dbm0)) == (ALL if heard else "")


def test_keys_in_noise_at_15_db_are_heard() -> None:
    x = dtmf_sequence(ALL, dbm0=-20)
    assert typed(x + noise(len(x) / 8000, -20 + 3 - 15)) == ALL


def test_one_tone_alone_is_not_a_key() -> None:
    assert typed(mix((0.2, tone(770, 0.2)), (0.6, tone(1336, 0.2)), seconds=1.2)) == ""


def test_no_talk_off_on_speech() -> None:
    speech = np.concatenate([greeting(30, seed=seed, dbm0=-12) for seed in range(4)])
    assert keys(speech) == []
    assert keys(speech + noise(len(speech) / 8000, -40)) == []


def test_a_key_pressed_while_the_callee_is_talking_is_heard() -> None:
    x = mix((0.0, greeting(3, dbm0=-22)), (1.5, dtmf("9", 0.12, -8)), seconds=3.5)
    assert typed(x) == "9"


def test_a_key_held_at_the_end_is_flushed() -> None:
    detector = DtmfDetector()
    found = [e for f in frames(mix((0.2, dtmf("#", 0.5)), seconds=0.6)) for e in detector.feed(f)]
    assert found == []
    [held] = detector.flush()
    assert held.digit == "#" and held.duration_ms >= 380


def test_bytes_frames_work_as_arrays_do() -> None:
    detector = DtmfDetector()
    found = [e for f in frames(dtmf_sequence("42")) for e in detector.feed(f.tobytes())]
    assert [e.digit for e in found] == ["4", "2"]


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        DtmfSettings(purity=0.2)
    with pytest.raises(ValueError):
        DtmfSettings(freq_tolerance=0.2)
    with pytest.raises(ValueError):
        DtmfSettings(hits_to_start=0)
