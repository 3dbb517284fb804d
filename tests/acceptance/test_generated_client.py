"""Issue 20: a client generated with openapi-python-client (pinned in the test extra) from the
document a running server serves compiles, imports, and drives create/get/list/delete of an
outdial and a target, typed end to end (docs/api.md: Generating a client)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.acceptance.server import Server, cli

GENERATOR = str(Path(sys.executable).with_name("openapi-python-client"))
# audio/wav (a media's content) is bytes to the client, as application/octet-stream is.
CONFIG = "content_type_overrides:\n  audio/wav: application/octet-stream\n"


def _generate(document_url: str, where: Path) -> Any:
    doc = where / "openapi.json"
    doc.write_bytes(httpx.get(document_url, timeout=10).content)
    config = where / "config.yaml"
    config.write_text(CONFIG)
    out = where / "outdial_client"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    argv = [GENERATOR, "generate", "--path", str(doc), "--config", str(config)]
    run = subprocess.run(
        [*argv, "--meta", "none", "--output-path", str(out)],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Warning" not in run.stdout, run.stdout  # every operation and response generated
    compiled = subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(out)], capture_output=True, text=True
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    sys.path.insert(0, str(where))
    try:
        return importlib.import_module("outdial_client")
    finally:
        sys.path.remove(str(where))


def test_a_generated_client_drives_outdials_and_targets(
    sqlite_database_url: str, tmp_path: Path
) -> None:
    url = sqlite_database_url
    customer = cli("customers", "create", "--name", "acme", "--database-url", url)
    key = cli("accesskeys", "create", "--customer-id", customer["id"], "--database-url", url)
    server = Server(url, tmp_path / "serve.log")
    try:
        client_pkg = _generate(f"{server.url}/openapi.json", tmp_path)
        _drive(client_pkg, server.url, key["token"])
    finally:
        server.stop()
        for name in [m for m in sys.modules if m.split(".")[0] == "outdial_client"]:
            del sys.modules[name]


def _drive(pkg: Any, base_url: str, token: str) -> None:
    api = importlib.import_module("outdial_client.api.outdials")
    targets = importlib.import_module("outdial_client.api.outdialtargets")
    models = importlib.import_module("outdial_client.models")
    ops = {
        name: importlib.import_module(f"{package.__name__}.{name}")
        for package, names in (
            (api, ("create_outdial", "get_outdial", "list_outdials", "delete_outdial")),
            (
                targets,
                (
                    "create_outdial_target",
                    "get_outdial_target",
                    "list_outdial_targets",
                    "delete_outdial_target",
                ),
            ),
        )
        for name in names
    }
    with pkg.AuthenticatedClient(base_url=base_url, token=token) as client:
        _outdial_and_target(ops, models, client)


def _outdial_and_target(ops: dict[str, Any], models: Any, client: Any) -> None:

    made = ops["create_outdial"].sync(client=client, body=models.OutdialCreate(name="list"))
    assert isinstance(made, models.Outdial), made
    assert made.name == "list" and made.tm_delete == "9999-01-01 00:00:00.000000"
    outdial_id = made.id
    assert isinstance(outdial_id, uuid.UUID)  # format: uuid
    got = ops["get_outdial"].sync(outdial_id, client=client)
    assert isinstance(got, models.Outdial) and got.id == made.id
    page = ops["list_outdials"].sync(client=client, page_size=10)
    assert isinstance(page, models.OutdialList)
    assert [o.id for o in page.result] == [made.id] and page.next_page_token

    tel = models.AddressTel(type_="tel", target="+15550001")
    body = models.TargetCreate(name="alice", destination_0=tel)
    target = ops["create_outdial_target"].sync(outdial_id, client=client, body=body)
    assert isinstance(target, models.Outdialtarget), target
    assert target.status == models.OutdialtargetStatus.IDLE
    assert isinstance(target.destination_0, models.Address)
    assert target.destination_0.target == "+15550001" and target.destination_1 is None
    target_id = target.id
    again = ops["get_outdial_target"].sync(outdial_id, target_id, client=client)
    assert isinstance(again, models.Outdialtarget) and again.name == "alice"
    listed = ops["list_outdial_targets"].sync(outdial_id, client=client)
    assert isinstance(listed, models.OutdialtargetList)
    assert [t.id for t in listed.result] == [target.id]

    gone = ops["delete_outdial_target"].sync(outdial_id, target_id, client=client)
    assert isinstance(gone, models.Outdialtarget) and gone.tm_delete != target.tm_delete
    deleted = ops["delete_outdial"].sync(outdial_id, client=client)
    assert isinstance(deleted, models.Outdial) and deleted.tm_delete != made.tm_delete

    # Errors come back typed too: the envelope, with its status and reason.
    missing = ops["get_outdial"].sync(uuid.uuid4(), client=client)
    assert isinstance(missing, models.Error), missing
    assert missing.error.reason == "OUTDIAL_NOT_FOUND"
    empty = ops["list_outdials"].sync(client=client)
    assert isinstance(empty, models.OutdialList) and empty.result == []
