"""Real telephony: SIP (RFC 3261) over UDP with G.711 RTP audio, written for outdial.

The engine and CLI use `SipConfig` / `SipTelephony` (the `Telephony` backend) and, for the demo
and tests, `SipAnsweringPeer` (a local far end that follows the test number plan).
"""

from outdial.telephony.sip.errors import SipConfigError, SipParseError
from outdial.telephony.sip.peer import PeerCall, SipAnsweringPeer
from outdial.telephony.sip.telephony import SipConfig, SipTelephony, parse_hostport

__all__ = [
    "PeerCall",
    "SipAnsweringPeer",
    "SipConfig",
    "SipConfigError",
    "SipParseError",
    "SipTelephony",
    "parse_hostport",
]
