"""Streaming import of targets from CSV or JSON Lines files of any size.

The whole file is one transaction: a bad row rejects the import with errors that name the
line and field, and nothing is written. Rows go to the database in chunks as they are read,
so memory stays flat however large the file is.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from outdial.services import events
from outdial.services.context import Context
from outdial.services.target_input import KNOWN_FIELDS, RowError, target_values
from outdial.services.targets import over_limit
from outdial.storage import quota, repo
from outdial.storage import rows as row_models
from outdial.storage.tables import outdials
from outdial.storage.target_load import ChunkWriter
from outdial.wire import outdial as wire_outdial

CHUNK = 5_000
YIELD_EVERY = 256
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


def _destination_cell(value: str, key: str) -> Any:
    """A destination cell: the `tel:`/`sip:` shorthand, or a JSON Address object."""
    text = value.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise InvalidArgument(f"{key} is not a valid JSON Address object") from None
    return text or None


def read_csv(stream: IO[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) for each data row; empty cells are left out (they mean "unset")."""
    reader = csv.reader(stream)
    header = next(reader, None) or []
    unknown = [h for h in header if h not in KNOWN_FIELDS]
    if unknown:
        raise InvalidArgument(
            f"unknown column(s) {', '.join(unknown)}; expected name, detail, data, "
            "destination_0..destination_4, timezone, priority"
        )
    columns = [(name, name.startswith("destination_")) for name in header]
    width = len(header)
    for cells in reader:
        line = reader.line_num
        if not cells:
            continue  # a blank line
        if len(cells) > width:
            yield line, {"__error__": "has more cells than the header"}
            continue
        row: dict[str, Any] = {}
        try:
            for (key, is_destination), value in zip(columns, cells, strict=False):
                if value:
                    row[key] = _destination_cell(value, key) if is_destination else value
                    if key == "priority" and value.strip().isdigit():
                        row[key] = int(value.strip())  # a CSV cell is text; JSON gives a number
        except InvalidArgument as exc:
            yield line, {"__error__": exc.message}
            continue
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
        except RecursionError:  # nested past the parser's limit: a bad row, not a crash
            yield line_no, {"__error__": "is nested too deeply"}
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
    """Import every row of the file in one transaction, or none (ImportFailed lists the bad
    rows). The writer loads rows in large batches in the background while the next ones are
    read and checked, so the database's work overlaps ours."""
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
            rule = DestinationRule(ctx.network, await quota.calling_codes(conn, owner.customer_id))
            writer = ChunkWriter(conn)
            try:
                read = await _load(rows, outdial_id, now, report, writer, progress, raw.tell, rule)
                if report.errors:
                    raise ImportFailed(report.errors, read)
                await writer.close()
            finally:
                await writer.abandon()  # never leave a write running into the rollback
            report.imported = writer.written
            limit = ctx.limits.targets
            if not await quota.add_targets(conn, owner.customer_id, report.imported, limit):
                raise over_limit(limit)
            # One event for the whole file (docs/events.md): a million outdialtarget_created
            # rows would double the import's cost; clients re-read the list on this event.
            await events.emit(
                conn,
                owner.customer_id,
                events.OUTDIAL_UPDATED,
                wire_outdial.render(row_models.outdial(owner)),
            )
            if progress is not None:
                progress(raw.tell(), read)
    return report


async def _load(
    rows: Iterator[tuple[int, dict[str, Any]]],
    outdial_id: uuid.UUID,
    now: int,
    report: ImportReport,
    writer: ChunkWriter,
    progress: Progress | None,
    position: Callable[[], int],
    rule: DestinationRule,
) -> int:
    """Check every row, hand full chunks to the writer; returns the number of rows read."""
    chunk: list[dict[str, Any]] = []
    read = 0
    try:
        for line, row in rows:
            read += 1
            if read % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the chunk in flight make progress
            try:
                if "__error__" in row:
                    raise InvalidArgument(row["__error__"])
                values = target_values(row, outdial_id, now, rule)
            except InvalidArgument as exc:
                report.errors.append(str(RowError(line, exc.message, label="line")))
                if len(report.errors) >= MAX_ERRORS:
                    break
                continue
            if report.errors:
                continue  # keep validating to report every bad row, write nothing
            chunk.append(values)
            if len(chunk) >= CHUNK:
                await writer.write(chunk)
                chunk = []
                if progress is not None:
                    progress(position(), read)
    except UnicodeDecodeError:
        report.errors.append(f"the file is not UTF-8 text (after row {read})")
    except csv.Error as exc:
        report.errors.append(f"CSV error after row {read}: {exc}")
    if not report.errors:
        await writer.write(chunk)
    return read
