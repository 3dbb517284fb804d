"""Issue 10, item 3: uploaded media (`POST /v1.0/media` with a WAV body, `media:<id>`),
owned by the customer; the audio itself comes back only from `/content`."""

from __future__ import annotations

import io
import wave

from tests.api.helpers import SENTINEL, error
from tests.conftest import Tenant

WAV = {"Content-Type": "audio/wav"}


def wav(seconds: float = 0.5, rate: int = 16000, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\x00\x10" * int(seconds * rate) * channels)
    return buf.getvalue()


async def test_upload_read_list_and_delete(tenant: Tenant, other_tenant: Tenant) -> None:
    data = wav(0.5, 16000, 2)
    made = await tenant.ok("POST", "/v1.0/media?name=greeting", content=data, headers=WAV)
    assert list(made) == [
        "id",
        "customer_id",
        "name",
        "reference",
        "size",
        "duration_ms",
        "sample_rate",
        "channels",
        "tm_create",
        "tm_update",
        "tm_delete",
    ]
    assert made["reference"] == f"media:{made['id']}"
    assert (made["name"], made["size"], made["duration_ms"]) == ("greeting", len(data), 500)
    assert (made["sample_rate"], made["channels"]) == (16000, 2)
    assert made["customer_id"] == str(tenant.customer_id) and made["tm_delete"] == SENTINEL
    assert await tenant.ok("GET", f"/v1.0/media/{made['id']}") == made
    content = await tenant.call("GET", f"/v1.0/media/{made['id']}/content")
    assert content.status_code == 200 and content.content == data
    assert content.headers["content-type"] == "audio/wav"
    listed = await tenant.ok("GET", "/v1.0/media")
    assert [m["id"] for m in listed["result"]] == [made["id"]]
    for path in (f"/v1.0/media/{made['id']}", f"/v1.0/media/{made['id']}/content"):
        error(await other_tenant.call("GET", path), 404, "NOT_FOUND", "MEDIA_NOT_FOUND")
    error(
        await other_tenant.call("DELETE", f"/v1.0/media/{made['id']}"),
        404,
        "NOT_FOUND",
        "MEDIA_NOT_FOUND",
    )
    assert (await other_tenant.ok("GET", "/v1.0/media"))["result"] == []
    gone = await tenant.ok("DELETE", f"/v1.0/media/{made['id']}")
    assert gone["tm_delete"] != SENTINEL
    assert (await tenant.ok("GET", "/v1.0/media"))["result"] == []
    play = {"actions": [{"type": "play", "option": {"stream_urls": [made["reference"]]}}]}
    r = await tenant.call("POST", "/v1.0/campaigns", json=play)
    error(r, 400, "INVALID_ARGUMENT", "INVALID_REFERENCE")  # deleted media cannot be named


async def test_only_pcm_wav_is_taken(tenant: Tenant) -> None:
    for body in (b"", b"RIFF....WAVEfmt ", b"not audio at all", b"\x00" * 1000, wav(0.0)):
        r = await tenant.call("POST", "/v1.0/media", content=body, headers=WAV)
        error(r, 400, "INVALID_ARGUMENT", "INVALID_MEDIA")
    r = await tenant.call("POST", "/v1.0/media?name=" + "n" * 256, content=wav(), headers=WAV)
    error(r, 400, "INVALID_ARGUMENT")


async def test_uploads_need_a_key(tenant: Tenant) -> None:
    r = await tenant.client.post("/v1.0/media", content=wav(), headers=WAV)
    error(r, 401, "UNAUTHENTICATED")
    cookie_upload = await tenant.client.post(
        "/v1.0/media", content=wav(), headers={**WAV, "Cookie": f"token={tenant.token}"}
    )
    assert cookie_upload.status_code == 200  # audio/wav is no form a cross-site page can send
