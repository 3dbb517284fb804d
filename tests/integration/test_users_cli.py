"""Issue 14 through the operator interface: `outdial users create/list/delete` (the password
on standard input), and a real `outdial serve` taking a login, a session-cookie import
streamed in chunks over HTTP, its own body limit, the session settings from the environment,
and logout."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.server import Server


def cli(*args: str, stdin: str = "") -> tuple[int, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "outdial", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1, (done.stdout, done.stderr)
    return done.returncode, json.loads(lines[0])


# The CLI and a real `outdial serve` on one database: the users, sessions and import services
# under them run on both in tests/api (docs/testing.md, one database where it does not matter).
def test_users_from_the_cli(sqlite_database_url: str) -> None:
    url = ("--database-url", sqlite_database_url)
    _, customer = cli("customers", "create", "--name", "Acme", *url)
    cid = ("--customer-id", customer["id"])
    code, user = cli(
        "users",
        "create",
        *cid,
        "--username",
        "Ops@Acme.example",
        "--password-stdin",
        *url,
        stdin="a long enough secret\n",
    )
    assert code == 0, user
    assert user["username"] == "ops@acme.example" and user["customer_id"] == customer["id"]
    assert "password" not in json.dumps(user)
    code, refused = cli("users", "create", *cid, "--username", "x@acme.example", *url)
    assert code == 2 and refused["error"]["reason"] == "PASSWORD_STDIN_REQUIRED"
    code, taken = cli(
        "users",
        "create",
        *cid,
        "--username",
        "ops@acme.example",
        "--password-stdin",
        *url,
        stdin="another secret!\n",
    )
    assert code == 2 and taken["error"]["reason"] == "USERNAME_TAKEN"
    code, short = cli(
        "users",
        "create",
        *cid,
        "--username",
        "y@acme.example",
        "--password-stdin",
        *url,
        stdin="short\n",
    )
    assert code == 2 and "password" in short["error"]["message"]
    _, listed = cli("users", "list", *cid, *url)
    assert [u["id"] for u in listed["result"]] == [user["id"]]
    _, deleted = cli("users", "delete", *cid, "--id", user["id"], *url)
    assert deleted["tm_delete"] != "9999-01-01 00:00:00.000000"
    assert cli("users", "list", *cid, *url)[1] == {"result": []}


def test_login_and_import_on_a_real_server(
    sqlite_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = ("--database-url", sqlite_database_url)
    _, customer = cli("customers", "create", "--name", "Acme", *url)
    cli(
        "users",
        "create",
        "--customer-id",
        customer["id"],
        "--username",
        "ops@acme.example",
        "--password-stdin",
        *url,
        stdin="a long enough secret\n",
    )
    monkeypatch.setenv("OUTDIAL_SESSION_TTL", "120")
    server = Server(
        sqlite_database_url, tmp_path / "serve.log", "--no-engine", "--import-max-body", "4096"
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            signed = http.post(
                "/v1.0/login",
                json={"username": "ops@acme.example", "password": "a long enough secret"},
            )
            assert signed.status_code == 200, signed.text
            assert "max-age=120" in signed.headers["set-cookie"].lower()
            csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
            # the client's jar sends the cookie from here on
            outdial = http.post("/v1.0/outdials", json={"name": "list"}, headers=csrf).json()
            path = f"/v1.0/outdials/{outdial['id']}/targets_import"

            def body(rows: int) -> Iterator[bytes]:
                yield b"name,destination_0\n"
                for n in range(rows):
                    yield f"t{n},tel:+1555{n:07d}\n".encode()

            headers = {**csrf, "Content-Type": "text/csv"}
            done = http.post(path, content=body(100), headers=headers)
            assert done.json() == {"imported": 100}, done.text
            too_big = http.post(path, content=body(400), headers=headers)
            assert too_big.status_code == 413, too_big.text
            page = http.get(f"/v1.0/outdials/{outdial['id']}/targets?page_size=100").json()
            assert len(page["result"]) == 100
            assert http.post("/v1.0/logout", headers=csrf).json() == {"logged_out": True}
            assert http.get("/v1.0/outdials").status_code == 401
    finally:
        assert server.stop() == 0
