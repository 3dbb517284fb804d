"""Listening to the far end of a call: pure, deterministic building blocks (time = samples).

- `RtpReceiver` / `JitterBuffer`: inbound RTP to 20 ms frames of 16-bit PCM (G.711 decode,
  reordering, loss and pauses filled with silence) and RFC 4733 events to key presses;
- `AmdDetector`: human / machine / notsure by cadence, with `AmdSettings`;
- `BeepDetector` and `VoicemailDropDetector`: the voicemail beep, and when to drop a message;
- `DtmfDetector` (in-band tones), `TelephoneEventReceiver` and `digit_packets` (RFC 4733),
  `parse_info` (SIP INFO bodies): key presses in and out, as `DigitEvent`s;
- `CallListener`: all of them for one call, sharing the per-frame work.

Frames are 160 samples at 8 kHz (20 ms) as int16 (bytes or a numpy array). docs/listening.md
describes each detector, its settings and its measured accuracy.

numpy's BLAS (OpenBLAS) runs a matrix product of many calls' frames on a pool of threads; in
this single-threaded asyncio process, on a busy machine, that took 5 times the CPU of one
thread (6.6 ms against 1.4 ms for 300 frames). So, unless the operator chose otherwise, it is
limited to one thread here, before numpy loads (which is why this package is imported before
anything else imports numpy; a process that loaded numpy earlier keeps its own setting).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from outdial.telephony.listen.amd import AmdDetector, AmdResult, AmdSettings, AmdStatus
from outdial.telephony.listen.beep import BeepDetector, BeepEvent, BeepSettings
from outdial.telephony.listen.dtmf import DtmfDetector, DtmfSettings
from outdial.telephony.listen.events import DigitEvent
from outdial.telephony.listen.jitter import JitterBuffer, JitterStats
from outdial.telephony.listen.listener import CallListener, Heard
from outdial.telephony.listen.receiver import RtpReceiver
from outdial.telephony.listen.rfc4733 import TelephoneEventReceiver
from outdial.telephony.listen.rfc4733_send import EventPacket, digit_packets, digits_packets
from outdial.telephony.listen.sipinfo import parse_info
from outdial.telephony.listen.vad import EnergyVad, WebRtcVad
from outdial.telephony.listen.voicemail import DropCue, DropSettings, VoicemailDropDetector

__all__ = [
    "AmdDetector",
    "AmdResult",
    "AmdSettings",
    "AmdStatus",
    "BeepDetector",
    "BeepEvent",
    "BeepSettings",
    "CallListener",
    "DigitEvent",
    "DropCue",
    "DropSettings",
    "DtmfDetector",
    "DtmfSettings",
    "EnergyVad",
    "EventPacket",
    "Heard",
    "JitterBuffer",
    "JitterStats",
    "RtpReceiver",
    "TelephoneEventReceiver",
    "VoicemailDropDetector",
    "WebRtcVad",
    "digit_packets",
    "digits_packets",
    "parse_info",
]
