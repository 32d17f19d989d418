"""``renderhouse render MODEL --canon canon.json --brief "…" -o DIR``: the render generator in
this process, no server needed. The logo and background paths in the canon file (relative
to the canon file) are read here and carried inline, as a job submitted over HTTP does."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _resolve(canon: dict, base: Path) -> dict:
    logo = canon.get("logo")
    if isinstance(logo, dict) and isinstance(logo.get("image"), str):
        logo["image"] = _beside(logo["image"], base, "logo")
    bg = canon.get("background")
    if isinstance(bg, dict) and isinstance(bg.get("image"), str):
        bg["image"] = _beside(bg["image"], base, "background")
    return canon


def _beside(ref: str, base: Path, what: str) -> str:
    """A canon file's image path (relative to the canon file) as an inline data URL."""
    from renderhouse.generators.render.canon_images import to_data_url

    if ref.startswith("data:"):
        return ref
    return to_data_url(base / ref if not Path(ref).is_absolute() else Path(ref), what)


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--canon", "canon_file", type=click.Path(path_type=Path), required=True)
@click.option("--brief", default=None, help="what the picture is for, in plain words")
@click.option("--brief-file", type=click.Path(path_type=Path), default=None)
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None)
@click.option(
    "--planner",
    type=click.Choice(["rules", "llm"]),
    default="rules",
    show_default=True,
    help="llm: a language model of the settings plans the camera and light",
)
@click.option("--planner-model", default=None, help="for --planner llm (default: the settings')")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def render(
    model: Path,
    canon_file: Path,
    brief: str | None,
    brief_file: Path | None,
    out_dir: Path | None,
    planner: str,
    planner_model: str | None,
    quiet: bool,
) -> None:
    """Render MODEL on brand per a canon file, with plan.json and a measured report."""
    from renderhouse.errors import RenderhouseError
    from renderhouse.generators.command_console import CommandConsole
    from renderhouse.generators.render import RenderGenerator, RenderInput

    term = CommandConsole("render", counts=False, quiet=quiet)
    fail = term.fail

    if brief_file is not None:
        try:
            brief = brief_file.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--brief-file {brief_file}: {exc}")
    if not brief:
        fail("give the brief with --brief TEXT or --brief-file FILE")
    try:
        canon = json.loads(canon_file.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        fail(f"--canon {canon_file}: not a readable JSON file ({exc})")
    if not isinstance(canon, dict):
        fail(f"--canon {canon_file}: the canon is a JSON object")
    gen = RenderGenerator()
    try:
        resolved = _resolve(canon, canon_file.parent)
        inp = gen.parse_input(
            {
                "brief": brief,
                "model": str(model),
                "canon": resolved,
                "planner": planner,
                "planner_model": planner_model,
            }
        )
    except RenderhouseError as exc:
        fail(f"{exc.message} [{exc.code}]")
    assert isinstance(inp, RenderInput)
    out = out_dir or Path(f"{model.stem}_render")

    from renderhouse.generators.render.job import run_render

    result = term.run(out, lambda ctx: run_render(ctx, inp, gen.plan_cache))
    verdict = "[bold green]on brand[/]" if result["passed"] else "[bold red]off brand[/]"
    term.say(f"{verdict} score {result['score']:.0f}/100 in {result['seconds']:.2f} s → {out}")
    term.say("outputs: " + ", ".join([*result["images"], "plan.json", "report.json"]))
    planning = result["planning"]
    if planning["fallback"] is not None:
        fell = planning["fallback"]
        term.say(f"planner: rules (LLM plan not used: {fell['message']} [{fell['code']}])")
    elif planning["used"] == "llm":
        term.say(
            f"planner: {planning['planner']} ({planning['prompt_tokens']} + "
            f"{planning['completion_tokens']} tokens, {planning['cost_credits']} credits)"
        )
    term.say(f"report: {(out / 'report.html').resolve()}")
