"""Command groups and output shared by the ``renderhouse`` sub-commands: a group called
alone prints its help and exits 0 (asking what a group does is not an error), and ``--json``
output shows times the way the HTTP API does (``renderhouse.timestamps``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import click

from renderhouse.timestamps import rfc3339


class HelpGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)


def echo_json(data: Any, times: Iterable[str] = ()) -> None:
    """Print ``data`` (a dict or a list of dicts) as JSON, the fields named in ``times``
    (epoch seconds) as RFC 3339."""
    names = set(times)

    def convert(row: Any) -> Any:
        if not isinstance(row, dict):
            return row
        return {
            k: rfc3339(v) if k in names and isinstance(v, int | float) else v
            for k, v in row.items()
        }

    shaped = [convert(r) for r in data] if isinstance(data, list) else convert(data)
    click.echo(json.dumps(shaped, indent=2, default=str))
