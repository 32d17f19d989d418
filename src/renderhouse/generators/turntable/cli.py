"""``renderhouse turntable MODEL``: render a turntable in this process, no server needed."""

from __future__ import annotations

import time
from pathlib import Path

import click


def _process_age() -> float:
    """Seconds since this process started (Linux /proc), so start-up before our import —
    interpreter, the CLI package — shows in ``--timings`` too; 0 where /proc is missing."""
    try:
        import os

        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


_START = time.perf_counter() - _process_age()


def _floats(text: str) -> float | list[float]:
    values = [float(v) for v in text.split(",") if v.strip()]
    return values[0] if len(values) == 1 else values


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="output directory [default: ./<model>_turntable]",
)
@click.option("--frames", type=int, default=36, show_default=True, help="frames per turn (1-720)")
@click.option("--size", type=int, default=None, help="square frame size in pixels [1024]")
@click.option("--width", type=int, default=None)
@click.option("--height", type=int, default=None)
@click.option(
    "--format",
    "formats",
    default="png",
    show_default=True,
    help="comma list: png,webp,avif,jpeg,sprite,webm,mp4,viewer",
)
@click.option(
    "--background",
    default="transparent",
    show_default=True,
    help="transparent, #rrggbb or gradient:#top,#bottom",
)
@click.option(
    "--lighting",
    default="studio",
    show_default=True,
    help="studio, soft, contrast or a .hdr/.exr panorama",
)
@click.option(
    "--elevation",
    default="15",
    show_default=True,
    help="degrees; a comma list renders one row per elevation",
)
@click.option("--fov", type=float, default=35.0, show_default=True)
@click.option("--direction", type=click.Choice(["cw", "ccw"]), default="ccw", show_default=True)
@click.option("--start-angle", type=float, default=0.0, show_default=True)
@click.option("--exposure", type=float, default=1.0, show_default=True)
@click.option(
    "--aa",
    type=click.Choice(["off", "fast", "high", "ultra"]),
    default="fast",
    show_default=True,
    help="fast = FXAA, high = MSAA 4x, ultra = MSAA 4x + SSAA 2x",
)
@click.option("--shadow/--no-shadow", default=False)
@click.option("--up", type=click.Choice(["y", "z"]), default="y", show_default=True)
@click.option("--animation", type=int, default=0, show_default=True)
@click.option("--animation-time", type=float, default=None, help="seconds; default rest pose")
@click.option("--fps", type=int, default=24, show_default=True)
@click.option(
    "--renderer", type=click.Choice(["auto", "gl", "filament"]), default="auto", show_default=True
)
@click.option("--timings", is_flag=True, help="print where the time went")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def turntable(
    model: Path, out_dir: Path | None, timings: bool, quiet: bool, elevation: str, **options: object
) -> None:
    """Render a 360° turntable of MODEL (.glb, .gltf or a directory holding one)."""
    from renderhouse.errors import RenderhouseError
    from renderhouse.generators.command_console import CommandConsole
    from renderhouse.generators.turntable import TurntableGenerator, TurntableInput

    term = CommandConsole("turntable", quiet=quiet)
    try:
        elev = _floats(elevation)
    except ValueError:
        term.fail(f"--elevation {elevation!r} must be a number or a comma list of numbers")
    data = {k: v for k, v in options.items() if v is not None}
    data["formats"] = [f for f in str(data["formats"]).split(",") if f.strip()]
    data.update(model=str(model), elevation=elev)
    if data.get("size") is None and not (data.get("width") or data.get("height")):
        data["size"] = 1024
    gen = TurntableGenerator()
    try:
        parsed = gen.parse_input(data)
    except RenderhouseError as exc:
        term.option_error(exc, "turntable")
    assert isinstance(parsed, TurntableInput)
    inp = parsed
    out = out_dir or Path(f"{model.stem}_turntable")

    from renderhouse.generators.turntable.job import Timings, run_turntable

    t_setup = time.perf_counter()
    clock = Timings()
    clock.add("process start-up + CLI imports", t_setup - _START)
    t0 = time.perf_counter()
    result = term.run(out, lambda ctx: run_turntable(ctx, inp, clock))
    elapsed = time.perf_counter() - t0
    total_frames = result["frames"]
    term.say(
        f"[bold green]done[/] {total_frames} frames {result['size'][0]}x{result['size'][1]} "
        f"in {elapsed:.2f} s ({total_frames / max(elapsed, 1e-9):.1f} frames/s, "
        f"{time.perf_counter() - _START:.2f} s with start-up) → {out}"
    )
    if result.get("viewer"):
        term.say(f"viewer: {(out / result['viewer']).resolve()}")
    others = [a for a in result["artifacts"] if not a.startswith("frames/")]
    if others:
        term.say("outputs: " + ", ".join(others))
    if timings:
        for name, seconds in clock.as_dict().items():
            term.say(f"  {name:28s} {seconds * 1000:9.1f} ms")
        term.say(f"  {'CPU time, all threads':28s} {result['cpu_seconds'] * 1000:9.1f} ms")
