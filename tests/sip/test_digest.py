"""Digest authentication (RFC 2617, RFC 8760)."""

from __future__ import annotations

import hashlib

from outdial.telephony.sip.digest import (
    Challenge,
    authorization,
    best_challenge,
    digest_response,
    parse_challenge,
)


def test_rfc2617_example_with_qop_auth() -> None:
    challenge = Challenge(realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                          qop=("auth",))  # fmt: skip
    response = digest_response(challenge, method="GET", uri="/dir/index.html", username="Mufasa",
                               password="Circle Of Life", cnonce="0a4f113b")  # fmt: skip
    assert response == "6629fae49393a05397450978507c4ef1"


def test_no_qop_is_rfc2069_style() -> None:
    challenge = Challenge(realm="r", nonce="n")
    ha1 = hashlib.md5(b"u:r:p").hexdigest()
    ha2 = hashlib.md5(b"INVITE:sip:x@h").hexdigest()
    expected = hashlib.md5(f"{ha1}:n:{ha2}".encode()).hexdigest()
    got = digest_response(challenge, method="INVITE", uri="sip:x@h", username="u", password="p",
                          cnonce="c")  # fmt: skip
    assert got == expected
    header = authorization(challenge, method="INVITE", uri="sip:x@h", username="u", password="p")
    assert f'response="{expected}"' in header and "qop" not in header and "cnonce" not in header


def test_sha256_and_session_variants() -> None:
    challenge = Challenge(realm="r", nonce="n", algorithm="SHA-256-SESS", qop=("auth",))
    ha1 = hashlib.sha256(b"u:r:p").hexdigest()
    ha1 = hashlib.sha256(f"{ha1}:n:c".encode()).hexdigest()
    ha2 = hashlib.sha256(b"INVITE:sip:x@h").hexdigest()
    expected = hashlib.sha256(f"{ha1}:n:00000001:c:auth:{ha2}".encode()).hexdigest()
    got = digest_response(challenge, method="INVITE", uri="sip:x@h", username="u", password="p",
                          cnonce="c")  # fmt: skip
    assert got == expected


def test_parse_challenge_and_choose_the_strongest() -> None:
    md5 = 'Digest realm="a.test", nonce="abc", qop="auth,auth-int", opaque="o", algorithm=MD5'
    sha = 'Digest realm="a.test",nonce="def",algorithm=SHA-256,qop="auth",stale=TRUE'
    parsed = parse_challenge(md5)
    assert parsed == Challenge("a.test", "abc", "MD5", ("auth", "auth-int"), "o", False)
    assert parse_challenge("Basic realm=x") is None
    assert parse_challenge('Digest nonce="x"') is None
    best = best_challenge([md5, sha])
    assert best is not None and best.algorithm == "SHA-256" and best.stale
    assert best_challenge(['Digest realm="r", nonce="n", qop="auth-int"']) is None


def test_authorization_header_fields() -> None:
    challenge = Challenge(realm="r", nonce="n", qop=("auth",), opaque="op")
    header = authorization(challenge, method="INVITE", uri="sip:x@h", username="u", password="p",
                           cnonce="cn")  # fmt: skip
    assert header.startswith("Digest ")
    for part in ('username="u"', 'realm="r"', 'nonce="n"', 'uri="sip:x@h"', "qop=auth",
                 "nc=00000001", 'cnonce="cn"', 'opaque="op"', "algorithm=MD5"):  # fmt: skip
        assert part in header
