"""Streaming import of targets from CSV or JSON Lines files of any size.

The import is all or nothing: a bad row rejects it with errors that name the line and field,
and nothing is written. With `dedupe` (issue 17), a row that repeats an earlier
line or a live target of the outdial is such an error, or, with `dedupe_action skip`, is left
out and counted. Rows go to the database in chunks as they are read,
so memory stays flat however large the file is. On PostgreSQL the whole file is one
transaction; on SQLite it is checked and staged without the file's write lock, then moved in
short transactions, so a running `outdial serve` keeps writing meanwhile (`_import_staged`).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import functools
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from outdial.domain.dedupe import Dedupe, DedupeAction
from outdial.domain.destinations import DestinationRule
from outdial.domain.errors import FailedPrecondition, InvalidArgument, NotFound
from outdial.services import events
from outdial.services.context import Context
from outdial.services.dedupe import Deduper, stored_key
from outdial.services.target_input import KNOWN_FIELDS, RowError, target_values
from outdial.services.targets import over_limit
from outdial.storage import quota, repo
from outdial.storage import rows as row_models
from outdial.storage.tables import outdials
from outdial.storage.target_keys import live_destination_keys, lock_outdial
from outdial.storage.target_load import (
    ChunkWriter,
    SqliteStage,
    drop_staged,
    move_staged,
    unmove_staged,
)
from outdial.wire import outdial as wire_outdial

CHUNK = 5_000
# SQLite: rows moved from the staging table per transaction, and the pause between two such
# transactions (longer than SQLite's longest busy-handler sleep, 100 ms, so that a writer
# waiting in another process gets the lock in between).
MOVE_ROWS = 10_000
MOVE_PAUSE_S = 0.1
STAGE_ON_SQLITE = True  # False: one transaction, as on PostgreSQL (benchmarks compare both)
log = logging.getLogger("outdial.importer")
YIELD_EVERY = 256
MAX_ERRORS = 50
Progress = Callable[[int, int], None]  # (bytes read, rows read)


@dataclass
class ImportReport:
    outdial_id: uuid.UUID
    imported: int = 0
    errors: list[str] = field(default_factory=list)
    skipped_duplicates: int = 0


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
    dedupe: Dedupe = Dedupe.NONE,
    dedupe_action: DedupeAction = DedupeAction.REPORT,
) -> ImportReport:
    """Import every row of the file in one transaction, or none (ImportFailed lists the bad
    rows). The writer loads rows in large batches in the background while the next ones are
    read and checked, so the database's work overlaps ours. `dedupe`: which duplicates to
    look for; `dedupe_action`: report them (an error per row) or skip and count them."""
    kind = detect_format(path, fmt)
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        rows = read_csv(text) if kind == "csv" else read_jsonl(text)
        batches = functools.partial(_batches_here, rows)
        return await _import(
            ctx, outdial_id, batches, raw.tell, progress, dedupe=dedupe, dedupe_action=dedupe_action
        )


async def import_stream(
    ctx: Context,
    customer_id: uuid.UUID,
    outdial_id: uuid.UUID,
    body: AsyncIterator[bytes],
    kind: str,
    dedupe: Dedupe = Dedupe.NONE,
    dedupe_action: DedupeAction = DedupeAction.REPORT,
) -> ImportReport:
    """Import a CSV or JSON Lines body that arrives in chunks (`POST .../targets_import`),
    with the same checks, row errors and single transaction as `import_file`; another
    customer's outdial is 404, as if it did not exist.

    The parsers are the file's (`read_csv`, `read_jsonl`, over a text stream); they run, with
    the row checks, in a worker thread, a batch of rows at a time (the event loop meanwhile
    talks to the database), and read the body through `BodyReader`, which
    asks the event loop for the next chunk only when the parser needs it: one chunk of the
    body is held at a time, so memory stays flat whatever the body's size, and a slow reader
    (the database) slows the upload instead of buffering it."""
    if kind not in ("csv", "jsonl"):
        raise InvalidArgument("format must be csv or jsonl")
    loop = asyncio.get_running_loop()
    raw = BodyReader(body, loop)
    text = io.TextIOWrapper(io.BufferedReader(raw, BODY_BUFFER), encoding="utf-8-sig", newline="")
    try:
        header_and_rows = read_csv(text) if kind == "csv" else read_jsonl(text)
        batches = functools.partial(_batches_in_thread, header_and_rows)
        return await _import(
            ctx, outdial_id, batches, raw.tell, owner_id=customer_id,
            dedupe=dedupe, dedupe_action=dedupe_action,
        )  # fmt: skip
    finally:
        raw.close()


async def _import(
    ctx: Context,
    outdial_id: uuid.UUID,
    batches: Callable[[Check], AsyncIterator[Batch]],
    position: Callable[[], int],
    progress: Progress | None = None,
    *,
    owner_id: uuid.UUID | None = None,
    dedupe: Dedupe = Dedupe.NONE,
    dedupe_action: DedupeAction = DedupeAction.REPORT,
) -> ImportReport:
    """`owner_id`: the caller's customer (the API's), or None for the operator (the CLI)."""
    report = ImportReport(outdial_id)
    now = ctx.now_us()
    if ctx.db.is_sqlite and STAGE_ON_SQLITE:
        return await _import_staged(
            ctx, outdial_id, batches, position, progress, report, now, owner_id,
            dedupe, dedupe_action,
        )  # fmt: skip
    async with ctx.db.write() as conn:
        owner = await _owner(conn, outdial_id, owner_id)
        rule = DestinationRule(ctx.network, await quota.calling_codes(conn, owner.customer_id))
        dedup, skip = await _deduper(conn, outdial_id, dedupe, dedupe_action)
        writer = ChunkWriter(conn)
        check = functools.partial(_check_row, outdial_id=outdial_id, now=now, rule=rule)
        try:
            read = await _load(batches(check), report, writer, progress, position, dedup, skip)
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
            progress(position(), read)
    return report


async def _owner(conn: AsyncConnection, outdial_id: uuid.UUID, owner_id: uuid.UUID | None) -> Any:
    """The outdial, live; another customer's (`owner_id` given) is 404 as if it did not exist."""
    owner = await repo.get(conn, outdials, outdial_id)
    if owner is None or owner_id not in (None, owner.customer_id):
        raise NotFound(f"outdial {outdial_id} not found", reason="OUTDIAL_NOT_FOUND")
    if owner.tm_delete is not None:
        raise FailedPrecondition(f"outdial {outdial_id} is deleted", reason="OUTDIAL_DELETED")
    return owner


async def _deduper(
    conn: AsyncConnection, outdial_id: uuid.UUID, dedupe: Dedupe, action: DedupeAction
) -> tuple[Deduper, bool]:
    existing: set[str] = set()
    if dedupe is Dedupe.WITHIN_OUTDIAL:
        await lock_outdial(conn, outdial_id)
        existing = await live_destination_keys(conn, outdial_id, stored_key)
    return Deduper(dedupe, "line", existing), action is DedupeAction.SKIP


async def _import_staged(
    ctx: Context,
    outdial_id: uuid.UUID,
    batches: Callable[[Check], AsyncIterator[Batch]],
    position: Callable[[], int],
    progress: Progress | None,
    report: ImportReport,
    now: int,
    owner_id: uuid.UUID | None,
    dedupe: Dedupe,
    dedupe_action: DedupeAction,
) -> ImportReport:
    """SQLite (docs/operations.md, "SQLite under pressure"): the file is read, checked and
    staged in a TEMP table without the database file's write lock (a bad row: nothing was
    written), then moved into the outdial in transactions of MOVE_ROWS rows with MOVE_PAUSE_S
    between them, so that another process (`outdial serve` dialing) writes in between instead
    of waiting for the whole file. The quota is taken whole in the first of them, the outdial's
    event is sent in the last. The import fails whole: if a move fails (disk full, say), the
    rows moved so far are deleted again and the quota given back. Only a kill -9 in the middle
    leaves the rows moved until then (all with the import's `tm_create`). `within_outdial`
    compares with the targets live when the staging began (SQLite: not held against a second
    import running into the same outdial at the same moment)."""
    async with ctx.db.write(lock=False) as conn:
        owner = await _owner(conn, outdial_id, owner_id)
        rule = DestinationRule(ctx.network, await quota.calling_codes(conn, owner.customer_id))
        dedup, skip = await _deduper(conn, outdial_id, dedupe, dedupe_action)
        stage = SqliteStage(conn)
        await stage.open()
        check = functools.partial(_check_row, outdial_id=outdial_id, now=now, rule=rule)
        read = await _load(batches(check), report, stage, progress, position, dedup, skip)
        if report.errors:
            raise ImportFailed(report.errors, read)
    total, moved, upto = stage.written, 0, 0
    try:
        while True:
            async with ctx.db.write() as conn:
                if upto == 0:  # the first move: the outdial is still there, the quota holds
                    owner = await _owner(conn, outdial_id, owner_id)
                    if not await quota.add_targets(
                        conn, owner.customer_id, total, ctx.limits.targets
                    ):
                        raise over_limit(ctx.limits.targets)
                count, last = await move_staged(conn, upto, MOVE_ROWS)
                if moved + count >= total:
                    await events.emit(
                        conn,
                        owner.customer_id,
                        events.OUTDIAL_UPDATED,
                        wire_outdial.render(row_models.outdial(owner)),
                    )
            moved, upto = moved + count, last
            if moved >= total or count == 0:
                break
            await asyncio.sleep(MOVE_PAUSE_S)  # another process's write goes in here
    except BaseException:
        if moved:
            await _unmove(ctx, owner.customer_id, upto, total)
        raise
    finally:
        with contextlib.suppress(Exception):
            async with ctx.db.write(lock=False) as conn:
                await drop_staged(conn)
    report.imported = moved
    if progress is not None:
        progress(position(), read)
    return report


async def _unmove(ctx: Context, customer_id: uuid.UUID, upto: int, total: int) -> None:
    """Take back the rows a failed SQLite import had moved, and its quota."""
    try:
        async with ctx.db.write() as conn:
            gone = await unmove_staged(conn, upto)
            await quota.remove_targets(conn, customer_id, total)
        log.warning("import failed half-way: the %d rows moved so far were deleted again", gone)
    except Exception:
        log.exception("import failed half-way, and the rows moved so far could not be deleted")


# A batch of checked rows, (line, the row's column values or the message of what is wrong
# with it), and the error that ended the reading (bad UTF-8, broken CSV) if any.
Batch = tuple[list[tuple[int, dict[str, Any] | str]], Exception | None]
Check = Callable[[dict[str, Any]], dict[str, Any] | str]
READ_ERRORS = (UnicodeDecodeError, csv.Error)
THREAD_BATCH = 2_000  # rows parsed per trip to the worker thread
BODY_BUFFER = 256 * 1024
CHUNK_WAIT_S = 300.0  # a client silent this long in the middle of a body is given up on


def _check_row(
    row: dict[str, Any], *, outdial_id: uuid.UUID, now: int, rule: DestinationRule
) -> dict[str, Any] | str:
    """The row's column values, or what is wrong with it (pure: safe in a worker thread)."""
    try:
        if "__error__" in row:
            raise InvalidArgument(row["__error__"])
        return target_values(row, outdial_id, now, rule)
    except InvalidArgument as exc:
        return exc.message


def _take(rows: Iterator[tuple[int, dict[str, Any]]], n: int, check: Check) -> Batch:
    """Up to n rows, checked; a read error ends the batch (the rows before it are kept)."""
    batch: list[tuple[int, dict[str, Any] | str]] = []
    try:
        for line, row in rows:
            batch.append((line, check(row)))
            if len(batch) >= n:
                break
    except READ_ERRORS as exc:
        return batch, exc
    return batch, None


async def _batches_here(
    rows: Iterator[tuple[int, dict[str, Any]]], check: Check
) -> AsyncIterator[Batch]:
    """A file's rows, parsed and checked on the event loop's thread (no hop: the CLI's
    fastest path)."""
    while True:
        batch, error = _take(rows, YIELD_EVERY, check)
        yield batch, error
        if error is not None or not batch:
            return
        await asyncio.sleep(0)  # let the chunk in flight make progress


async def _batches_in_thread(
    rows: Iterator[tuple[int, dict[str, Any]]], check: Check
) -> AsyncIterator[Batch]:
    """A streamed body's rows, parsed and checked in a worker thread (which may wait for the
    network) while the event loop talks to the database."""
    while True:
        batch, error = await asyncio.to_thread(_take, rows, THREAD_BATCH, check)
        yield batch, error
        if error is not None or not batch:
            return


class BodyReader(io.RawIOBase):
    """A blocking, read-only file over an async stream of byte chunks, for a parser in a
    worker thread: each `readinto` that finds its chunk used up asks the event loop for the
    next one and waits for it. Errors of the stream (the body limit, a client that went
    away) are raised in the reader, and so end the import."""

    def __init__(self, chunks: AsyncIterator[bytes], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._chunks = chunks
        self._loop = loop
        self._pending = memoryview(b"")
        self._done = False
        self._position = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def readinto(self, buffer: Any) -> int:
        while not self._pending and not self._done:
            future = asyncio.run_coroutine_threadsafe(self._next(), self._loop)
            try:
                chunk = future.result(CHUNK_WAIT_S)
            except TimeoutError:
                future.cancel()
                raise InvalidArgument(
                    f"the body stopped arriving for {CHUNK_WAIT_S:.0f} s", reason="BODY_TIMEOUT"
                ) from None
            if chunk is None:
                self._done = True
            else:
                self._pending = memoryview(chunk)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        self._position += n
        return n

    async def _next(self) -> bytes | None:
        try:
            return await anext(self._chunks)
        except StopAsyncIteration:
            return None


async def _load(
    batches: AsyncIterator[Batch],
    report: ImportReport,
    writer: ChunkWriter | SqliteStage,
    progress: Progress | None,
    position: Callable[[], int],
    dedup: Deduper,
    skip: bool,
) -> int:
    """Collect the checked rows, hand full chunks to the writer; returns the rows read.
    A duplicate (`dedup`) is skipped and counted (`skip`), or reported as the row's error."""
    chunk: list[dict[str, Any]] = []
    read = 0
    async for batch, error in batches:
        for line, values in batch:
            read += 1
            if not isinstance(values, str):
                why = dedup.duplicate(line, values)
                if why is not None and skip:
                    report.skipped_duplicates += 1
                    continue
                values = values if why is None else why
            if isinstance(values, str):
                report.errors.append(str(RowError(line, values, label="line")))
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
        if isinstance(error, UnicodeDecodeError):
            report.errors.append(f"the file is not UTF-8 text (after row {read})")
        elif isinstance(error, csv.Error):
            report.errors.append(f"CSV error after row {read}: {error}")
        if len(report.errors) >= MAX_ERRORS or error is not None:
            break
    if not report.errors:
        await writer.write(chunk)
    return read
