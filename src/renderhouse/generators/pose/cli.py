"""``renderhouse pose AVATAR.glb --pose NAME[,NAME…] -o DIR``: pose and render in this
process, no server needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command()
@click.argument("avatar", type=click.Path(path_type=Path), required=False)
@click.option("--pose", "poses", default="", help="comma list of library pose names")
@click.option("--pose-file", type=click.Path(path_type=Path), help="a renderhouse-pose/1 JSON")
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None)
@click.option("--size", type=int, default=768, show_default=True)
@click.option(
    "--camera",
    type=click.Choice(["front", "three-quarter", "side", "back"]),
    default="three-quarter",
    show_default=True,
)
@click.option("--framing", type=click.Choice(["full", "upper"]), default="full")
@click.option("--background", default="#f2f2f2", show_default=True)
@click.option("--format", "formats", default="png", show_default=True, help="png,webp")
@click.option("--glb", is_flag=True, help="also write each posed avatar as a GLB")
@click.option("--bone-map", help="JSON object: canonical bone → joint name")
@click.option(
    "--capture",
    default="",
    help="comma list of CLIP@SECONDS or 'current': poses read from AVATAR itself",
)
@click.option("--save-poses", type=click.Path(path_type=Path), help="write the poses as JSON")
@click.option("--list", "list_poses", is_flag=True, help="list the pose library and exit")
@click.option(
    "--thumbnails",
    type=click.Path(path_type=Path),
    help="render every library pose on the mannequin into this cache directory and exit",
)
@click.option(
    "--ai-provider",
    type=click.Choice(["openai", "gemini"]),
    help="also a 2D picture per pose from this image provider (its SDK's API key variable)",
)
@click.option("--ai-prompt", help="the character the AI pictures show")
@click.option("--ai-model", help="the provider's image model")
@click.option("--ai-reference", type=click.Path(path_type=Path), help="a picture of the look")
@click.option("--ai-portrait", is_flag=True, help="also one AI portrait (no pose needed)")
@click.option("--quiet", "-q", is_flag=True)
def pose(
    avatar: Path | None,
    poses: str,
    pose_file: Path | None,
    out_dir: Path | None,
    formats: str,
    bone_map: str | None,
    capture: str,
    save_poses: Path | None,
    list_poses: bool,
    thumbnails: Path | None,
    quiet: bool,
    **options: object,
) -> None:
    """Put AVATAR (a rigged glTF humanoid, .glb) in library poses and render them."""
    from renderhouse.errors import RenderhouseError
    from renderhouse.generators.command_console import CommandConsole

    term = CommandConsole("pose", quiet=quiet)
    fail = term.fail

    if list_poses:
        from renderhouse.generators.pose.pose_format import categories

        for category, names in categories().items():
            click.echo(f"{category}: {', '.join(names)}")
        return
    if thumbnails is not None:
        from renderhouse.generators.pose.thumbnails import render_thumbnails

        paths = render_thumbnails(thumbnails)
        click.echo(f"{len(paths)} thumbnails in {next(iter(paths.values())).parent}")
        return
    if avatar is None:
        fail("give an AVATAR .glb (or --list to see the poses)")
    assert avatar is not None
    from renderhouse.generators.pose import PoseGenerator, PoseInput

    ai = {k[3:]: options.pop(k) for k in list(options) if k.startswith("ai_")}
    data: dict[str, Any] = {k: v for k, v in options.items() if v is not None}
    if ai["provider"] or ai["prompt"] or ai["portrait"]:
        if not (ai["provider"] and ai["prompt"]):
            fail("the AI path needs --ai-provider and --ai-prompt")
        ai["reference"] = str(ai["reference"]) if ai["reference"] else None
        data["ai"] = {k: v for k, v in ai.items() if v is not None}
    data.update(
        avatar=str(avatar),
        poses=[p.strip() for p in poses.split(",") if p.strip()],
        formats=[f.strip() for f in formats.split(",") if f.strip()],
        glb=bool(data.get("glb")),
    )
    try:
        if pose_file is not None:
            loaded = json.loads(pose_file.read_text())
            data["custom_poses"] = loaded.get("poses", [loaded])
        if bone_map:
            data["bone_map"] = json.loads(bone_map)
    except (OSError, ValueError) as exc:
        fail(f"cannot read the pose file or bone map: {exc}")
    if capture:
        try:
            captured = _captured(avatar, capture, data.get("bone_map"))
            data["custom_poses"] = [*data.get("custom_poses", []), *captured]
        except RenderhouseError as exc:
            fail(f"{exc.message} [{exc.code}]")
    gen = PoseGenerator()
    try:
        parsed = gen.parse_input(data)
    except RenderhouseError as exc:
        term.option_error(exc, "pose")
    assert isinstance(parsed, PoseInput)
    out = out_dir or Path(f"{avatar.stem}_poses")
    if save_poses is not None:
        from renderhouse.generators.pose.job import poses_of
        from renderhouse.generators.pose.pose_format import FORMAT

        saved = [p.as_dict() for p in poses_of(parsed)]
        save_poses.write_text(json.dumps({"format": FORMAT, "poses": saved}, indent=1))
        term.say(f"poses written to {save_poses}")

    from renderhouse.generators.pose.job import run_pose

    outcome = term.run(out, lambda ctx: run_pose(ctx, parsed))
    result = outcome.result
    mapping = result["avatar"]["mapping"]
    term.say(
        f"[bold green]done[/] {result['delivered']} poses in {result['seconds']:.2f} s → {out} "
        f"(bones: {len(mapping['bones'])} mapped, scheme {mapping['scheme']}, "
        f"unit {result['avatar']['unit']}, up {result['avatar']['up_axis']})"
    )
    for p in result["poses"]:
        files = [*p["files"], *([p["ai"]["file"]] if "ai" in p else [])]
        term.say(f"  {p['name']}: {', '.join(files)}")
    if result.get("ai"):
        spent = result["provider_cost_micro_usd"] / 1e6
        portrait = result["ai"]["portrait"]
        term.say(f"AI pictures: {result['ai']['pictures']}, ${spent:.4f} at the provider")
        if portrait:
            term.say(f"portrait: {(out / portrait).resolve()}")
    if result.get("contact_sheet"):
        term.say(f"contact sheet: {(out / result['contact_sheet']).resolve()}")


def _captured(avatar: Path, spec: str, bone_map: dict[str, str] | None) -> list[dict]:
    """Poses captured from ``avatar``: ``current`` (its stored pose) or ``CLIP@SECONDS``."""
    from renderhouse.errors import InvalidInput
    from renderhouse.generators.pose.avatar import load_avatar
    from renderhouse.generators.pose.capture import capture_pose

    source = load_avatar(avatar, bone_overrides=bone_map)
    out = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        if item == "current":
            out.append(capture_pose(source, name=f"{avatar.stem}-current").as_dict())
            continue
        clip, _, at = item.rpartition("@")
        try:
            seconds = float(at)
        except ValueError:
            raise InvalidInput(
                f"--capture {item!r} must look like CLIP@SECONDS or 'current'",
                code="bad_clip_time",
            ) from None
        name = f"{avatar.stem}-{clip}-{seconds:g}s"
        out.append(capture_pose(source, clip, seconds, name=name).as_dict())
    return out
