"""Fox.glb skinned by our loader against three.js's own skinning (SkinnedMesh +
AnimationMixer, r187, run once in Node by benchmarks/fox_skinning_reference.mjs; the
numbers are in fox_threejs_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from renderhouse.scene.gltf_scene import load_scene
from renderhouse.scene.gltf_validate import validate_model

HERE = Path(__file__).parent
REFERENCE = json.loads((HERE / "fox_threejs_reference.json").read_text())
FOX = validate_model(HERE.parent / "assets" / "Fox.glb")
CLIPS = [a["name"] for a in FOX.doc["animations"]]


def test_the_reference_covers_every_clip_at_several_times() -> None:
    seen: dict[str, int] = {}
    for s in REFERENCE["samples"]:
        seen[s["clip"]] = seen.get(s["clip"], 0) + 1
    assert seen == {"Survey": 4, "Walk": 4, "Run": 4}


@pytest.mark.parametrize(
    "sample", REFERENCE["samples"], ids=lambda s: f"{s['clip']}@{s['time']:.3f}"
)
def test_fox_vertices_match_threejs(sample: dict) -> None:
    scene = load_scene(
        FOX,
        animation=CLIPS.index(sample["clip"]),
        animation_time=sample["time"],
        max_texture_side=256,
    )
    ours = scene.primitives[0].positions[:: REFERENCE["stride"]].astype(np.float64)
    theirs = np.array(sample["positions"])
    lo, hi = scene.bounds
    diagonal = float(np.linalg.norm(np.asarray(hi) - lo))
    assert ours.shape == theirs.shape
    error = float(np.abs(ours - theirs).max())
    assert error <= 1e-5 * diagonal, f"max error {error} vs diagonal {diagonal}"
    rest = load_scene(FOX, max_texture_side=256).primitives[0].positions
    if sample["time"] > 0:  # the sample really is posed, not the rest pose
        assert np.abs(rest[:: REFERENCE["stride"]] - theirs).max() > 100 * error
