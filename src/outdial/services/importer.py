"""Streaming import of targets from CSV or JSON Lines files of any size.

The whole file is one transaction: a bad row rejects the import with errors that name the
line and field, and nothing is written. Rows go to the database in chunks as they are read,
so memory stays flat however large the file is.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from outdial.services.context import Context
from outdial.services.target_input import KNOWN_FIELDS, RowError, target_values
from outdial.storage import repo
from outdial.storage.tables import outdials
from outdial.storage.targets import bulk_insert

CHUNK = 5_000
MAX_ERRORS = 50
Progress = Callable[[int, int], None]  # (bytes read, rows read)


@dataclass
class ImportReport:
    outdial_id: uuid.UUID
    imported: int = 0
    errors: list[str] = field(default_factory=list)


class ImportFailed(InvalidArgument):
    reason = "IMPORT_REJECTED"

    def __init__(self, errors: list[str], rows: int) -> None:
        more = "" if len(errors) < MAX_ERRORS else f" (stopped after {MAX_ERRORS} errors)"
        super().__init__(f"{len(errors)} bad row(s) in {rows} read{more}; nothing imported")
        self.errors = errors


def detect_format(path: Path, explicit: str | None) -> str:
    if explicit:
        if explicit not in ("csv", "jsonl"):
            raise InvalidArgument("format must be csv or jsonl")
        return explicit
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    return "csv"


def _destination_cell(value: str) -> Any:
    text = value.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise InvalidArgument("is not a valid JSON Address object") from None
    return text or None


def read_csv(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(stream)
    header = reader.fieldnames or []
    unknown = [h for h in header if h not in KNOWN_FIELDS]
    if unknown:
        raise InvalidArgument(
            f"unknown column(s) {', '.join(unknown)}; expected name, detail, data, "
            "destination_0..destination_4"
        )
    for raw in reader:
        line = reader.line_num
        if None in raw:
            yield line, {"__error__": "has more cells than the header"}
            continue
        row: dict[str, Any] = {}
        for key, value in raw.items():
            if value is None:
                continue
            if key.startswith("destination_"):
                try:
                    row[key] = _destination_cell(value)
                except InvalidArgument as exc:
                    yield line, {"__error__": f"{key} {exc.message}"}
                    break
            else:
                row[key] = value
        else:
            yield line, row


def read_jsonl(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for line_no, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, {"__error__": f"is not valid JSON ({exc.msg})"}
            continue
        if not isinstance(obj, dict):
            yield line_no, {"__error__": "must be a JSON object"}
            continue
        unknown = [k for k in obj if k not in KNOWN_FIELDS]
        if unknown:
            yield line_no, {"__error__": f"has unknown field(s) {', '.join(unknown)}"}
            continue
        yield line_no, obj


async def import_file(
    ctx: Context,
    outdial_id: uuid.UUID,
    path: Path,
    *,
    fmt: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    kind = detect_format(path, fmt)
    report = ImportReport(outdial_id)
    now = ctx.now_us()
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = read_csv(text) if kind == "csv" else read_jsonl(text)
        async with ctx.db.write() as conn:
            owner = await repo.get(conn, outdials, outdial_id)
            if owner is None:
                raise NotFound(f"outdial {outdial_id} not found", reason="OUTDIAL_NOT_FOUND")
            if owner.tm_delete is not None:
                raise FailedPrecondition(
                    f"outdial {outdial_id} is deleted", reason="OUTDIAL_DELETED"
                )
            chunk: list[dict[str, Any]] = []
            read = 0
            try:
                for line, row in rows:
                    read += 1
                    try:
                        if "__error__" in row:
                            raise InvalidArgument(row["__error__"])
                        values = target_values(row, outdial_id, now)
                    except InvalidArgument as exc:
                        report.errors.append(str(RowError(line, exc.message, label="line")))
                        if len(report.errors) >= MAX_ERRORS:
                            break
                        continue
                    if report.errors:
                        continue  # keep validating to report every bad row, write nothing
                    chunk.append(values)
                    if len(chunk) >= CHUNK:
                        await bulk_insert(conn, chunk)
                        report.imported += len(chunk)
                        chunk = []
                        if progress is not None:
                            progress(raw.tell(), read)
            except UnicodeDecodeError:
                report.errors.append(f"the file is not UTF-8 text (after row {read})")
            except csv.Error as exc:
                report.errors.append(f"CSV error after row {read}: {exc}")
            if report.errors:
                raise ImportFailed(report.errors, read)
            await bulk_insert(conn, chunk)
            report.imported += len(chunk)
            if progress is not None:
                progress(raw.tell(), read)
    return report
