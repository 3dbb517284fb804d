"""The voicemail-drop cue: the beep, else the greeting's end in silence, else a timeout."""

from __future__ import annotations

import numpy as np

from outdial.telephony.listen import DropCue, DropSettings, VoicemailDropDetector
from tests.listen.signals import frames, greeting, mix, noise, silence, tone


def cue(x: np.ndarray, settings: DropSettings | None = None) -> DropCue | None:
    detector = VoicemailDropDetector(settings)
    for frame in frames(x):
        found = detector.feed(frame)
        if found is not None:
            assert detector.feed(frame) is None  # once only
            return found
    return None


def test_the_beep_after_the_greeting_is_the_cue() -> None:
    x = mix((0.3, greeting(5)), (5.8, tone(1000, 0.5, -12)), seconds=9)
    found = cue(x)
    assert found is not None and found.reason == "beep" and found.beep is not None
    assert abs(found.beep.end_ms - 6300) <= 5
    assert 6300 < found.ms <= 6380


def test_no_beep_then_the_greeting_ending_in_silence_is_the_cue() -> None:
    words = greeting(5)
    end_ms = 300 + np.flatnonzero(words)[-1] / 8  # the last sound of the greeting
    x = mix((0.3, words), (0.0, noise(9, -50)), seconds=9)
    found = cue(x)
    assert found is not None and (found.reason, found.beep) == ("silence", None)
    assert end_ms + 1500 - 100 <= found.ms <= end_ms + 1500 + 40


def test_a_beep_too_short_to_count_still_ends_in_the_silence_cue() -> None:
    x = mix((0.3, greeting(4)), (4.5, tone(1000, 0.12)), seconds=8)
    found = cue(x)
    assert found is not None and found.reason == "silence"
    assert found.ms >= 4620 + 1500


def test_a_pause_inside_the_greeting_is_not_its_end() -> None:
    first, second = greeting(2, seed=1), greeting(2, seed=2)
    x = mix((0.3, first), (3.3, second), (5.8, tone(700, 0.3)), seconds=8)  # 1 s pause
    found = cue(x)
    assert found is not None and found.reason == "beep"


def test_silence_only_times_out() -> None:
    found = cue(silence(4), DropSettings(max_wait_ms=3000))
    assert found == DropCue("timeout", 3000)
