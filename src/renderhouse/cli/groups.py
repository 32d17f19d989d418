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


def summary_without_import(target: str, limit: int = 45) -> str | None:
    """The one-line help of the command at ``module:function``, read from the module's
    source (its docstring) without running the module: ``renderhouse --help`` would otherwise
    import every command and the whole stack behind them (≈1,000 modules, seconds on a loaded
    machine; docs/benchmarks.md). None when the source does not show it plainly."""
    import ast
    from importlib.machinery import PathFinder
    from importlib.util import find_spec

    module, _, attr = target.partition(":")
    parts = module.split(".")
    spec = find_spec(parts[0])
    for depth in range(2, len(parts) + 1):
        if spec is None or spec.submodule_search_locations is None:
            return None
        spec = PathFinder.find_spec(".".join(parts[:depth]), spec.submodule_search_locations)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    with open(spec.origin, encoding="utf-8") as fh:
        tree = ast.parse(fh.read())
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == attr:
            doc = ast.get_docstring(node)
            return _short(doc, limit) if doc else None
    return None


def _short(doc: str, limit: int) -> str:
    """The first sentence of ``doc``, cut to ``limit`` characters as click cuts it."""
    text = " ".join(doc.split("\n\n")[0].split())
    end = text.find(". ")
    text = text if end < 0 else text[: end + 1]
    return text if len(text) <= limit else text[: max(0, limit - 3)].rsplit(" ", 1)[0] + "..."
