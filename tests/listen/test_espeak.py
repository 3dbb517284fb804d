"""The detectors on real synthetic speech (espeak-ng): people, machines, and no false beeps or
keys in a voice. Skips without espeak-ng, except under CI=true, where it fails."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from outdial.telephony.listen import (
    AmdDetector,
    AmdStatus,
    BeepDetector,
    DtmfDetector,
    VoicemailDropDetector,
)
from tests.listen.signals import espeak, frames, mix, noise, silence, tone

GREETINGS = {
    "en-us+m3": "Hi, you've reached Sam. I can't take your call right now. Please leave a "
    "message after the tone and I will call you back.",
    "de+f2": "Hallo, hier ist der Anrufbeantworter von Anna. Bitte hinterlassen Sie eine "
    "Nachricht nach dem Signalton.",
    "fr-fr+m1": "Bonjour, vous êtes bien chez Pierre. Laissez-moi un message après le bip.",
}
HELLOS = {"en-us+f3": "Hello?", "es+m2": "¿Diga?", "it+f1": "Pronto?"}
Say = Callable[[str, str], np.ndarray]


@pytest.fixture(scope="module")
def say(tmp_path_factory: pytest.TempPathFactory) -> Say:
    binary = shutil.which("espeak-ng")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("espeak-ng is required in CI")
        pytest.skip("espeak-ng is not installed")
    workdir: Path = tmp_path_factory.mktemp("espeak")
    return lambda text, voice: espeak(text, voice, workdir, binary)


def decide(x: np.ndarray) -> tuple[AmdStatus, int]:
    detector = AmdDetector()
    for frame in frames(x):
        if (result := detector.feed(frame)) is not None:
            return result.status, result.ms
    return detector.finish().status, -1


@pytest.mark.parametrize("voice", sorted(HELLOS))
def test_a_spoken_hello_is_a_human_within_3_s(say: Say, voice: str) -> None:
    x = mix((0.6, say(HELLOS[voice], voice)), (0.0, noise(6, -45)), seconds=6)
    status, ms = decide(x)
    assert status is AmdStatus.HUMAN and ms <= 3000


@pytest.mark.parametrize("voice", sorted(GREETINGS))
def test_a_spoken_greeting_is_a_machine_and_its_beep_the_drop_cue(say: Say, voice: str) -> None:
    words = say(GREETINGS[voice], voice)
    end = 0.5 + len(words) / 8000
    x = mix((0.5, words), (end + 0.4, tone(1000, 0.5, -12)), (0.0, noise(end + 3, -45)))
    assert decide(x)[0] is AmdStatus.MACHINE
    drop = VoicemailDropDetector()
    cue = next(c for f in frames(x) if (c := drop.feed(f)) is not None)
    assert cue.reason == "beep" and cue.beep is not None
    assert abs(cue.beep.end_ms - (end + 0.9) * 1000) <= 5


def test_no_beep_and_no_key_in_speech(say: Say) -> None:
    speech = np.concatenate([say(text, voice) for voice, text in GREETINGS.items()] * 2)
    speech = np.concatenate([speech, silence(0.3)])
    beep, dtmf = BeepDetector(), DtmfDetector()
    for frame in frames(speech):
        assert beep.feed(frame) is None
        assert dtmf.feed(frame) == []
