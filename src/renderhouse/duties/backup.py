"""``backup``: the scheduled backup as a job kind, so backups run on the same workers, with
the same retries, history and alerts as any other job (``renderhouse.ops.backup`` does the work).

The input names only where to write and how many backups to keep; the database and storage
come from the worker's own settings (environment or settings file), so no connection string
or credential is ever stored in a job row."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context


class BackupInput(BaseModel):
    dest: str = Field(description="Directory that receives one sub-directory per backup.")
    keep: int = Field(default=7, ge=1, le=1000)
    include_artifacts: bool = False
    data_dir: str | None = Field(
        default=None, description="The data directory of the settings to back up."
    )


class BackupGenerator(Generator):
    kind = "backup"
    internal = True
    Input = BackupInput
    default_timeout = 3600.0
    resources = Resources(cpu=0.5, memory_mb=128, isolated=False)
    description = "Backs up the database and the artifact manifest; keeps the newest N."

    async def run(self, ctx: Context, input: BackupInput) -> dict[str, Any]:  # type: ignore[override]
        from renderhouse.ops.backup import scheduled_backup

        ctx.progress(0, 1, "backing up")
        made, removed = await asyncio.to_thread(
            scheduled_backup,
            Path(input.dest),
            keep=input.keep,
            include_artifacts=input.include_artifacts,
            data_dir=Path(input.data_dir) if input.data_dir else None,
        )
        ctx.progress(1, 1, "done")
        return {"backup": str(made), "removed": [str(p) for p in removed]}
