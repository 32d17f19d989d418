"""``renderhouse meshinfo MODEL``: the generator run in this process, no server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click


@click.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="also write meshinfo.json into this directory",
)
def meshinfo(model: Path, out_dir: Path | None) -> None:
    """Print the meshes, vertices, triangles and bounds of MODEL (a .glb)."""
    import tempfile

    from renderhouse.errors import RenderhouseError
    from renderhouse.generators.local_context import LocalContext
    from renderhouse_meshinfo.generator import MeshInfoGenerator

    generator = MeshInfoGenerator()
    with tempfile.TemporaryDirectory() as scratch:
        out = out_dir or Path(scratch)
        try:
            inp = generator.parse_input({"model": str(model)})
            asyncio.run(generator.run(LocalContext(out, checkpoint_file=None), inp))
        except RenderhouseError as exc:
            click.echo(f"error ({exc.code}): {exc.message}", err=True)
            sys.exit(2)
        click.echo(json.dumps(json.loads((out / "meshinfo.json").read_text()), indent=2))
