"""Structure-aware fuzzing of the avatar path: a small rigged mannequin whose JSON (skins,
joints, hierarchy, names, accessors) and binary (weights, inverse bind matrices) are
damaged, then validated as an avatar, retargeted, re-skinned and captured. Anything but
success or a refusal with a 4xx code and a sentence is a crash. ``avatar_files`` and
``run_avatar`` are ready to register with the shared fuzzer (tests/fuzz/targets.py)."""

from __future__ import annotations

import struct
import tempfile
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from renderhouse.errors import RenderhouseError
from tests.fuzz.models import glb, split
from tests.fuzz.strategies import json_text, mutated_doc


@cache
def _seed() -> tuple[dict, bytes]:
    from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin

    with tempfile.TemporaryDirectory() as tmp:
        path = build_mannequin(
            Path(tmp) / "seed.glb", MannequinOptions(naming="mixamo", fingers=False, rest="A")
        )
        return split(path.read_bytes())


@st.composite
def avatar_files(draw: st.DrawFn) -> bytes:
    doc, binary = _seed()
    if draw(st.integers(0, 4)):
        doc = draw(mutated_doc(doc))
    if draw(st.booleans()):  # damage weights or bind matrices, which the JSON does not show
        data = bytearray(binary)
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, max(len(data) - 4, 0)) | st.just(len(data) - 64))
            value = draw(st.sampled_from([float("nan"), float("inf"), 0.0, -1.0, 1e30, 2.0]))
            struct.pack_into("<f", data, max(i - i % 4, 0), value)
        binary = bytes(data)
    return glb(draw(json_text(doc)), binary)


def run_avatar(data: bytes) -> str:
    from renderhouse.generators.pose.avatar import load_avatar
    from renderhouse.generators.pose.capture import capture_pose
    from renderhouse.generators.pose.pose_format import library
    from renderhouse.generators.pose.retarget import retarget
    from renderhouse.scene.gltf_scene import load_scene, repose

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "avatar.glb"
        path.write_bytes(data)
        try:
            avatar = load_avatar(path)
            scene = load_scene(avatar.model, max_texture_side=32, root=avatar.root)
            posed = retarget(avatar, library()["run-stride"])
            repose(avatar.model, scene, posed.overrides, avatar.root)
            capture_pose(avatar)
        except RenderhouseError as exc:
            if not 400 <= exc.http_status < 500 or not exc.code or not exc.message:
                raise AssertionError(f"refusal without a 4xx code and sentence: {exc!r}") from exc
            return exc.code
    return "accepted"
