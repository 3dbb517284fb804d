"""A generated corpus of answered calls for the listening benchmarks (issue 12).

Each item is the far end's audio of one answered call, 8 kHz, sample 0 = the answer:

- human: 0.2-1.2 s of quiet, one short greeting ("Hello?", "Allô, oui ?", ... under 1.5 s),
  sometimes a second one 2-3 s later, then quiet listening;
- machine: 0.1-1.5 s of quiet, a greeting of 4-10 s, 0.1-0.8 s of quiet, a beep (400-1,950
  Hz, 0.2-1.2 s, several levels) on most items, then quiet.

Speech is espeak-ng in eight languages with many voice variants, speeds and pitches, band
limited to 300-3,400 Hz, at -26..-12 dBm0; background noise (none, white, pink, brown or
"babble" made of other espeak speech) at 12-40 dB below the speech. The audio then goes the
way a call's audio goes: G.711 (μ-law or A-law), RTP packets, the network (0-2 % loss, some
reordering), the jitter buffer. Items are split by voice variant: `train` and `test` share no
voice variant, so tuning on one and reporting the other says how the thresholds generalise.

Rendered speech is cached under the cache dir (default ~/.cache/outdial/listen-corpus); the
corpus is rebuilt from it deterministically (seeded) on each run. Nothing here is committed.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from outdial.telephony.listen.frames import DBM0_RMS, RATE
from outdial.telephony.listen.jitter import JitterBuffer
from outdial.telephony.sip import g711 as sip_g711
from outdial.telephony.sip.rtp import RtpPacket, RtpPacketizer

HUMAN = {
    "en-us": ["Hello?", "Hello.", "Yes?", "Hi, hello?", "Yeah, hello?", "Hello, who's this?",
              "Hi.", "Hello, yes?", "Speaking.", "Hey."],
    "en-gb": ["Hello?", "Hello, yes?", "Yes, hello?", "Hiya.", "Hello, who is it?", "Yes?"],
    "de": ["Hallo?", "Ja, bitte?", "Ja?", "Hallo, wer ist da?", "Ja, hallo?", "Guten Tag."],
    "fr-fr": ["Allô ?", "Oui ?", "Allô, oui ?", "Bonjour.", "Oui, allô ?", "Allô, c'est qui ?"],
    "es": ["¿Diga?", "¿Hola?", "¿Sí?", "¿Bueno?", "Hola, ¿quién es?", "¿Dígame?"],
    "it": ["Pronto?", "Sì?", "Pronto, chi parla?", "Sì, pronto?", "Buongiorno."],
    "pt-br": ["Alô?", "Sim?", "Oi?", "Alô, quem fala?", "Pois não?"],
    "nl": ["Hallo?", "Ja?", "Met wie?", "Hallo, met wie spreek ik?", "Goedemiddag."],
}  # fmt: skip

NAMES = ["John Smith", "Maria", "Doctor Patel", "Anna Kowalski", "Pierre", "Lucia", "Tom"]
COMPANIES = ["Acme Plumbing", "the Riverside Clinic", "Northwind Travel", "Blue Harbor Bank"]

MACHINE = {
    "en-us": [
        "Hi, you've reached {name}. I can't take your call right now. Please leave a message "
        "after the tone and I'll get back to you.",
        "The person you are calling is not available. Please leave your message after the "
        "tone. When you are finished, you may hang up.",
        "Hello, this is {name}. Sorry I missed your call. Leave your name, your number and a "
        "short message, and I will call you back as soon as I can.",
        "Thank you for calling {company}. Our office is closed right now. Our hours are Monday "
        "to Friday, nine to five. Please leave a message.",
        "Hey, it's {name}! I'm not around right now, so leave a message and I'll call you "
        "back. Thanks!",
    ],
    "en-gb": [
        "Hello, you've reached {name}. I'm afraid I can't come to the phone at the moment. "
        "Please leave a message after the beep.",
        "The mobile number you have called is not available. Please leave a message after the "
        "tone.",
        "You're through to {company}. There's nobody here to take your call, but if you leave "
        "your details, we'll ring you back.",
    ],
    "de": [
        "Hallo, hier ist der Anrufbeantworter von {name}. Ich bin im Moment nicht erreichbar. "
        "Bitte hinterlassen Sie eine Nachricht nach dem Signalton.",
        "Der gewünschte Gesprächspartner ist zurzeit nicht erreichbar. Sie können aber eine "
        "Nachricht hinterlassen.",
        "Guten Tag, Sie sind verbunden mit {company}. Leider rufen Sie außerhalb unserer "
        "Geschäftszeiten an. Bitte sprechen Sie nach dem Ton.",
    ],
    "fr-fr": [
        "Bonjour, vous êtes bien sur le répondeur de {name}. Je ne suis pas disponible pour "
        "le moment. Laissez-moi un message après le bip sonore, merci.",
        "Votre correspondant n'est pas joignable pour le moment. Veuillez laisser un message "
        "après le signal sonore.",
        "Bonjour, vous êtes chez {company}. Nos bureaux sont fermés. Merci de rappeler "
        "pendant nos heures d'ouverture ou de laisser un message.",
    ],
    "es": [
        "Hola, has llamado a {name}. En este momento no puedo atenderte. Deja tu mensaje "
        "después de la señal y te llamaré lo antes posible.",
        "El número marcado no está disponible en este momento. Por favor, deje su mensaje "
        "después de la señal.",
    ],
    "it": [
        "Ciao, sono {name}. Al momento non posso rispondere. Lascia un messaggio dopo il "
        "segnale acustico, grazie.",
        "Il cliente da lei chiamato non è al momento raggiungibile. Può lasciare un messaggio "
        "dopo il segnale acustico.",
    ],
    "pt-br": [
        "Olá, você ligou para {name}. No momento não posso atender. Deixe sua mensagem após "
        "o sinal que eu retorno assim que puder.",
        "Este telefone está desligado ou fora da área de cobertura. Deixe sua mensagem após "
        "o sinal.",
    ],
    "nl": [
        "Hallo, u spreekt met de voicemail van {name}. Ik ben momenteel niet bereikbaar. "
        "Spreek na de piep een bericht in.",
        "Het nummer dat u belt is op dit moment niet bereikbaar. Spreek na de toon een bericht in.",
    ],
}

# espeak-ng voice variants; even positions train, odd positions test
VARIANTS = ["m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7",
            "klatt", "klatt2", "Alex", "Annie", "Andy", "Belinda", "Gene", "Alicia", "Henrique",
            "Hugo"]  # fmt: skip
NOISES = ["none", "white", "pink", "brown", "babble"]


@dataclass
class Item:
    index: int
    kind: str  # "human" | "machine"
    split: str  # "train" | "test"
    language: str
    voice: str
    text: str
    noise: str
    snr_db: float
    codec: int  # RTP payload type: 0 PCMU, 8 PCMA
    loss: float
    audio: np.ndarray  # int16, what reaches the detectors (after codec, network, jitter buffer)
    speech_start_ms: int
    greeting_end_ms: int  # end of the last speech
    beep: tuple[int, int, int] | None  # (start_ms, end_ms, frequency_hz)


def cache_dir(path: str | None) -> Path:
    if path:
        return Path(path)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "outdial" / "listen-corpus"


def espeak_8k(text: str, voice: str, speed: int, pitch: int, cache: Path) -> np.ndarray:
    """espeak-ng's rendering of `text`, as float samples at 8 kHz band limited to 300-3400 Hz."""
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise SystemExit("espeak-ng is required (apt-get install espeak-ng)")
    key = hashlib.sha256(f"{voice}\0{speed}\0{pitch}\0{text}".encode()).hexdigest()[:24]
    path = cache / f"{key}.wav"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        argv = [espeak, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(tmp), "--"]
        subprocess.run([*argv, text], check=True, capture_output=True)
        os.replace(tmp, path)
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    n_out = len(x) * RATE // rate
    spectrum = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    spectrum[(freqs < 300) | (freqs > 3400)] = 0
    y = np.fft.irfft(spectrum[: n_out // 2 + 1], n_out) * (n_out / len(x))
    active = np.abs(y) > 0.02 * np.max(np.abs(y))  # trim espeak's leading/trailing quiet
    idx = np.flatnonzero(active)
    return y[idx[0] : idx[-1] + 1] if len(idx) else y


def set_level(x: np.ndarray, dbm0: float) -> np.ndarray:
    """Scale to an active speech level of `dbm0` (RMS over the louder 20 ms frames)."""
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    energy = np.mean(frames**2, axis=1)
    active = energy[energy > 0.01 * np.max(energy)]
    rms = float(np.sqrt(np.mean(active)))
    return x * (DBM0_RMS * 10 ** (dbm0 / 20) / rms)


def noise(kind: str, n: int, rng: np.random.Generator, babble: np.ndarray) -> np.ndarray:
    """Unit-RMS noise of `kind` (babble: other speech, looped)."""
    if kind == "none":
        return np.zeros(n)
    if kind == "babble":
        start = int(rng.integers(0, max(1, len(babble) - n)))
        y = np.resize(babble[start:], n)
    else:
        white = rng.standard_normal(n)
        spectrum = np.fft.rfft(white)
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = f[1]
        if kind == "pink":
            spectrum /= np.sqrt(f)
        elif kind == "brown":
            spectrum /= f
        spectrum[(f < 200) | (f > 3600)] = 0
        y = np.fft.irfft(spectrum, n)
    return y / max(float(np.sqrt(np.mean(y**2))), 1e-9)


def tone(freq: float, seconds: float, dbm0: float) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    amplitude = DBM0_RMS * np.sqrt(2) * 10 ** (dbm0 / 20)
    ramp = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.005)  # 5 ms edges, as real beeps have
    return amplitude * np.sin(2 * np.pi * freq * t) * ramp


def through_network(
    x: np.ndarray, codec: int, loss: float, rng: random.Random
) -> tuple[np.ndarray, JitterBuffer]:
    """G.711, 20 ms RTP packets, loss and reordering, then the jitter buffer: what a call's
    detectors would be fed (frame i of the result starts at sample 160 * i of `x`)."""
    pcm = np.clip(np.round(x), -32768, 32767).astype("<i2")
    pcm = np.concatenate([pcm, np.zeros(-len(pcm) % 160, dtype="<i2")])
    payload = sip_g711.encode(pcm.tobytes(), codec)
    packetizer = RtpPacketizer(codec, ssrc=rng.getrandbits(32), sequence=rng.getrandbits(16),
                               timestamp=rng.getrandbits(32))  # fmt: skip
    packets = [packetizer.packet(payload[i : i + 160]) for i in range(0, len(payload), 160)]
    sent: list[bytes] = []
    for i, data in enumerate(packets):
        if i and rng.random() < loss:
            continue
        if len(sent) > 1 and rng.random() < 0.02:  # overtakes the previous packet
            sent.insert(len(sent) - 1, data)
        else:
            sent.append(data)
    buffer = JitterBuffer()
    frames = []
    for data in sent:
        buffer.push(RtpPacket.parse(data))
        while (frame := buffer.pop()) is not None:
            frames.append(frame)
    frames.extend(buffer.flush())
    return np.concatenate(frames), buffer


def build(cache: Path, per_kind: int = 120, seed: int = 12) -> Iterator[Item]:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    languages = sorted(HUMAN)
    babble = np.concatenate([
        set_level(espeak_8k(text.format(name="Sam", company="Initech"), f"{lang}+m3", 175, 50,
                            cache), -20)
        for lang in ("en-us", "de", "fr-fr") for text in MACHINE[lang][:2]
    ])  # fmt: skip
    for index in range(2 * per_kind):
        kind = "human" if index % 2 == 0 else "machine"
        language = languages[(index // 2) % len(languages)]
        variant_index = rng.randrange(len(VARIANTS))
        split = "train" if variant_index % 2 == 0 else "test"
        voice = f"{language}+{VARIANTS[variant_index]}"
        speed, pitch = rng.randint(140, 190), rng.randint(25, 75)
        level = rng.uniform(-26, -12)
        lead = rng.uniform(0.2, 1.2) if kind == "human" else rng.uniform(0.1, 1.5)
        parts: list[np.ndarray] = [np.zeros(round(lead * RATE))]
        beep = None
        if kind == "human":
            text = rng.choice(HUMAN[language])
            speech = set_level(espeak_8k(text, voice, speed, pitch, cache), level)
            parts.append(speech)
            speech_end = len(parts[0]) + len(speech)
            if rng.random() < 0.25:  # says it again after a while
                parts.append(np.zeros(round(rng.uniform(2.0, 3.0) * RATE)))
                parts.append(speech)
            parts.append(np.zeros(round(6.0 * RATE)))
        else:
            template = rng.choice(MACHINE[language])
            text = template.format(name=rng.choice(NAMES), company=rng.choice(COMPANIES))
            speech = set_level(espeak_8k(text, voice, speed, pitch, cache), level)
            if len(speech) > 10 * RATE:  # keep greetings within 4-10 s
                speech = speech[: 10 * RATE]
            parts.append(speech)
            speech_end = len(parts[0]) + len(speech)
            parts.append(np.zeros(round(rng.uniform(0.1, 0.8) * RATE)))
            if rng.random() < 0.8:
                freq = rng.choice([425, 440, 480, 600, 800, 850, 1000, 1000, 1200, 1400, 1800,
                                   1950])  # fmt: skip
                length = rng.choice([0.2, 0.25, 0.3, 0.5, 0.5, 0.8, 1.2])
                start = sum(len(p) for p in parts)
                parts.append(tone(freq, length, rng.uniform(-20, -8)))
                end = start + round(length * RATE)
                beep = (start * 1000 // RATE, end * 1000 // RATE, freq)
            parts.append(np.zeros(round(4.0 * RATE)))
        x = np.concatenate(parts)
        noise_kind = rng.choice(NOISES)
        snr = rng.uniform(12, 40)
        x = x + noise(noise_kind, len(x), nrng, babble) * (DBM0_RMS * 10 ** ((level - snr) / 20))
        codec = rng.choice([0, 8])
        loss = rng.choice([0.0, 0.0, 0.005, 0.01, 0.02])
        audio, _ = through_network(x, codec, loss, rng)
        yield Item(
            index, kind, split, language, voice, text, noise_kind, round(snr, 1), codec, loss,
            audio, len(parts[0]) * 1000 // RATE, speech_end * 1000 // RATE, beep,
        )  # fmt: skip
