"""The `timezone` column of `outdial targets import` (issue 6)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from outdial.services.container import Services
from outdial.services.importer import ImportFailed, import_file
from outdial.storage.tables import outdial_targets


async def test_csv_timezone_column(services: Services, tmp_path: Path) -> None:
    customer = await services.customers.create("importer-tz")
    outdial_id = (await services.outdials.create(customer.id, {"name": "tz"})).id
    path = tmp_path / "targets.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "destination_0", "timezone"])
        writer.writerows(
            [["a", "tel:+12125550100", "America/Chicago"], ["b", "tel:+12125550101", ""]]
        )
    assert (await import_file(services.ctx, outdial_id, path)).imported == 2
    stmt = (
        sa.select(outdial_targets.c.name, outdial_targets.c.timezone)
        .where(outdial_targets.c.outdial_id == outdial_id)
        .order_by(outdial_targets.c.name)
    )
    async with services.ctx.db.read() as conn:
        assert (await conn.execute(stmt)).all() == [("a", "America/Chicago"), ("b", None)]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,destination_0,timezone\nc,tel:+12125550102,Mars/Base\n")
    with pytest.raises(ImportFailed) as caught:
        await import_file(services.ctx, outdial_id, bad)
    assert "timezone" in caught.value.errors[0]
