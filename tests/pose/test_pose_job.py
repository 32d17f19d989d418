"""The pose generator run in-process: renders, contact sheet, posed GLBs, resuming from a
checkpoint, and charging only for delivered poses."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.pose import PoseGenerator, PoseInput
from renderhouse.generators.pose.job import _load, posed_scene
from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from renderhouse.generators.pose.pose_format import library
from renderhouse.scene.gltf_scene import load_scene
from renderhouse.scene.gltf_validate import validate_model

POSES = ["stand-relaxed", "wave-left", "sit-chair"]


@pytest.fixture(scope="module")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    options = MannequinOptions(naming="mixamo", rest="A", unit_scale=100, z_up=True)
    return build_mannequin(tmp_path_factory.mktemp("avatar") / "a.glb", options)


def _input(avatar: Path, **kw: object) -> PoseInput:
    data = {"avatar": str(avatar), "poses": POSES, "size": 128, "aa": "fast", **kw}
    parsed = PoseGenerator().parse_input(data)
    assert isinstance(parsed, PoseInput)
    return parsed


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), np.int16)


def test_renders_every_pose_and_a_contact_sheet(avatar: Path, tmp_path: Path) -> None:
    ctx = LocalContext(tmp_path)
    outcome = PoseGenerator().run(ctx, _input(avatar, formats=["png", "webp"]))
    result = outcome.result
    assert outcome.cost == 3 and result["delivered"] == 3 and not result["incomplete"]
    assert result["avatar"]["unit"] == "cm" and result["avatar"]["up_axis"] == "+z"
    assert result["avatar"]["mapping"]["bones"]["leftUpperArm"] == "mixamorig:LeftArm"
    images = [_pixels(tmp_path / p["files"][0]) for p in result["poses"]]
    background = np.array([0xF2, 0xF2, 0xF2])
    for img in images:
        covered = (np.abs(img - background).sum(-1) > 30).mean()
        assert 0.03 < covered < 0.6, "the avatar is in frame and not filling it"
    assert np.abs(images[0] - images[1]).mean() > 1 and np.abs(images[1] - images[2]).mean() > 1
    assert (tmp_path / result["poses"][0]["files"][1]).read_bytes()[8:12] == b"WEBP"
    with Image.open(tmp_path / result["contact_sheet"]) as sheet:
        assert sheet.width >= 2 * 128


def test_a_posed_glb_loads_in_the_pose(avatar: Path, tmp_path: Path) -> None:
    inp = _input(avatar, poses=["run-stride"], glb=True, contact_sheet=False)
    result = PoseGenerator().run(LocalContext(tmp_path), inp).result
    glb = tmp_path / result["poses"][0]["files"][-1]
    av, scene = _load(inp)
    reloaded = load_scene(validate_model(glb), root=av.root).primitives[0].positions
    expected = posed_scene(av, scene, library()["run-stride"]).primitives[0].positions
    assert np.allclose(reloaded, expected, atol=1e-4)
    assert "contact_sheet" not in result


def test_a_crashed_batch_resumes_at_the_next_pose(avatar: Path, tmp_path: Path) -> None:
    class Crash(Exception):
        pass

    crash = [True]

    def crash_after_two(done: float, total: float, message: str) -> None:
        if crash[0] and message.startswith("posed") and done == 2:
            raise Crash

    ctx = LocalContext(tmp_path, on_progress=crash_after_two, checkpoint_file=tmp_path / "c.json")
    with pytest.raises(Crash):
        PoseGenerator().run(ctx, _input(avatar))
    first = {p: p.stat().st_mtime_ns for p in (tmp_path / "poses").iterdir()}
    assert len(first) == 2
    crash[0] = False  # the next attempt: same storage, same checkpoint
    outcome = PoseGenerator().run(ctx, _input(avatar))
    assert outcome.result["resumed"] == 2 and outcome.result["delivered"] == 3
    assert all(p.stat().st_mtime_ns == t for p, t in first.items()), "a finished pose re-ran"
    assert outcome.cost == 3


def test_near_the_deadline_only_delivered_poses_are_charged(avatar: Path, tmp_path: Path) -> None:
    def deadline_after_first(done: float, total: float, message: str) -> None:
        if message.startswith("posed"):
            ctx.deadline = time.time()

    ctx = LocalContext(tmp_path, on_progress=deadline_after_first)
    outcome = PoseGenerator().run(ctx, _input(avatar))
    assert outcome.result["incomplete"] and outcome.result["delivered"] == 1
    assert outcome.cost == 1
    big = PoseGenerator().run(
        LocalContext(tmp_path / "b"), _input(avatar, size=1100, poses=["clap"])
    )
    assert big.cost == 2


def test_the_cli_poses_and_lists(avatar: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from renderhouse.generators.pose.cli import pose

    runner = CliRunner()
    listed = runner.invoke(pose, ["--list"])
    assert listed.exit_code == 0 and "sitting:" in listed.output and "sit-chair" in listed.output
    out = tmp_path / "out"
    done = runner.invoke(
        pose, [str(avatar), "--pose", "clap,crouch", "-o", str(out), "--size", "96", "-q"]
    )
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (out / "poses").iterdir()) == ["00-clap.png", "01-crouch.png"]
    bad = runner.invoke(pose, [str(avatar), "--pose", "moonwalk", "-o", str(out)])
    assert bad.exit_code == 2 and "no pose named 'moonwalk'" in bad.output
    with Image.open(io.BytesIO((out / "contact_sheet.png").read_bytes())) as img:
        assert img.height > 96


def test_the_cli_captures_a_clip_and_saves_it_for_another_avatar(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from renderhouse.generators.pose import rotations as rot
    from renderhouse.generators.pose.cli import pose
    from tests.pose.tiny_gltf import add_clip

    base = build_mannequin(tmp_path / "m.glb")
    q = list(rot.from_axis_angle(np.array([0, 0, 1.0]), 60))
    source = add_clip(base, tmp_path / "src.glb", "Raise", {"leftUpperArm": ([0, 1], [q, q])})
    runner = CliRunner()
    saved = tmp_path / "mine.json"
    args = [str(source), "--capture", "Raise@0.5", "--save-poses", str(saved), "-o"]
    done = runner.invoke(pose, [*args, str(tmp_path / "a"), "--size", "64", "-q"])
    assert done.exit_code == 0, done.output
    other = build_mannequin(tmp_path / "o.glb", MannequinOptions(naming="rigify", rest="A"))
    again = runner.invoke(
        pose,
        [str(other), "--pose-file", str(saved), "-o", str(tmp_path / "b"), "-q", "--size", "64"],
    )
    assert again.exit_code == 0, again.output
    assert "src-Raise-0.5s" in again.output
    bad = runner.invoke(pose, [str(source), "--capture", "Raise@9", "-o", str(tmp_path / "c")])
    assert bad.exit_code == 2 and "bad_clip_time" in bad.output


@pytest.mark.parametrize(
    "options",
    [{}, {"yaw": 180.0}, {"z_up": True, "unit_scale": 100, "yaw": 90.0}],
    ids=["facing +Z", "facing -Z", "Z up, cm, facing sideways"],
)
def test_a_front_view_faces_the_camera(tmp_path: Path, options: dict) -> None:
    """Whatever way the rig faces, a front view shows its front: its left leg (the
    mannequin's left side is blue, its right orange) and the raised left hand of wave-left
    are on the image's right."""
    avatar = build_mannequin(tmp_path / "a.glb", MannequinOptions(**options))  # type: ignore[arg-type]
    inp = _input(avatar, poses=["wave-left"], camera="front", contact_sheet=False)
    result = PoseGenerator().run(LocalContext(tmp_path), inp).result
    img = _pixels(tmp_path / result["poses"][0]["files"][0])
    covered = np.abs(img - np.array([0xF2, 0xF2, 0xF2])).sum(-1) > 30
    rows, cols = np.nonzero(covered)
    top = cols[rows <= rows.min() + 3]
    assert top.mean() > img.shape[1] * 0.55, "the raised hand must be on the image's right"
    legs = covered.copy()
    legs[: int(img.shape[0] * 0.6)] = False
    left = legs & (img[..., 2] > img[..., 0] + 8)
    right = legs & (img[..., 0] > img[..., 2] + 8)
    assert left.sum() > 20 and right.sum() > 20
    assert np.nonzero(left)[1].mean() > np.nonzero(right)[1].mean() + 3


def test_thumbnails_render_once(tmp_path: Path) -> None:
    from renderhouse.generators.pose.thumbnails import render_thumbnails

    first = render_thumbnails(tmp_path, size=64, names=["clap", "crouch"])
    assert all(p.exists() for p in first.values())
    stamps = {n: p.stat().st_mtime_ns for n, p in first.items()}
    again = render_thumbnails(tmp_path, size=64, names=["clap", "crouch", "t-pose"])
    assert {n: again[n].stat().st_mtime_ns for n in stamps} == stamps  # cached, not redrawn
    assert again["t-pose"].exists()
    with Image.open(again["t-pose"]) as im:
        assert im.size == (64, 64)
