"""The pose job's AI path against a local server speaking the OpenAI Images and Gemini
protocols (``tests/image_providers/fake_server.py``, proven faithful with the official SDKs
in ``tests/render/test_image_providers.py``): a picture per pose from the posed mannequin,
one paid call each, refusals final and free, a resumed job never pays twice."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from renderhouse.errors import BudgetExhausted, InvalidInput
from renderhouse.generators import spending
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.pose import PoseGenerator, PoseInput
from renderhouse.generators.pose.job import run_pose
from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from renderhouse.providers.images.base import ImageProvider, ProviderFailed
from renderhouse.providers.images.gemini_images import GeminiImages
from renderhouse.providers.images.openai_images import OpenAIImages
from tests.image_providers.fake_server import Script

# what the fake reports per call, priced by our clients (micro-dollars)
OPENAI_CALL = 320 + 1940 + 166_400
GEMINI_CALL = 393 + 38_700


@pytest.fixture(autouse=True)
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mannequin is built into the renderer's cache; keep it out of the user's home."""
    monkeypatch.setenv("RENDERHOUSE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="module")
def avatar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    options = MannequinOptions(naming="mixamo", rest="A")
    return build_mannequin(tmp_path_factory.mktemp("avatar") / "a.glb", options)


class Providers:
    """The job's provider factory, pointed at the fake; counts the clients it made."""

    def __init__(self, server: str) -> None:
        self.server, self.made = server, 0

    def __call__(self, name: str, model: str | None) -> ImageProvider:
        self.made += 1
        if name == "openai":
            return OpenAIImages(f"{self.server}/v1", "sk-test", model=model or "gpt-image-1")
        return GeminiImages(self.server, "test-key", model=model or "gemini-2.5-flash-image")


def pose_input(avatar: Path, provider: str, **ai: Any) -> PoseInput:
    data = {
        "avatar": str(avatar),
        "poses": ai.pop("poses", ["wave-left", "sit-chair"]),
        "size": 128,
        "aa": "fast",
        "ai": {"provider": provider, "prompt": "a knight in blue armour", **ai},
    }
    parsed = PoseGenerator().parse_input(data)
    assert isinstance(parsed, PoseInput)
    return parsed


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.size == (128, 128)
        return np.asarray(im.convert("RGB"), np.int16)


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_picture_per_pose_from_the_posed_mannequin(
    avatar: Path, tmp_path: Path, server: str, script: Script, provider: str
) -> None:
    meter = spending.Unmetered()
    out = tmp_path / "out"
    result = run_pose(
        LocalContext(out, meter=meter), pose_input(avatar, provider), Providers(server)
    )
    files = [p["ai"]["file"] for p in result.result["poses"]]
    assert files == ["ai/00-wave-left.png", "ai/01-sit-chair.png"]
    assert len(script.calls) == 2 and all(c["images"] == 1 for c in script.calls)
    prompt = script.calls[0]["prompt"]
    assert "a knight in blue armour" in prompt and "pose reference" in prompt
    waving, sitting = pixels(out / files[0]), pixels(out / files[1])
    # the fake retouches the reference it was sent: each picture is its own pose's mannequin
    assert np.abs(waving - sitting).mean() > 2
    for picture in (waving, sitting):
        assert picture.std() > 5 and (picture < 200).any()  # a figure, not a blank canvas
    call = OPENAI_CALL if provider == "openai" else GEMINI_CALL
    assert meter.spent == result.result["provider_cost_micro_usd"] == 2 * call
    assert result.result["ai"] == {"provider": provider, "pictures": 2, "portrait": None}
    assert result.cost == 2  # credits per pose unchanged: provider spend is the budget's
    assert (out / "poses" / "00-wave-left.png").exists()  # the deterministic render beside


class Ledger(spending.Unmetered):
    """Every hold and settlement, to show each call is held once and settled once."""

    def __init__(self) -> None:
        super().__init__()
        self.holds: list[int] = []
        self.settled: list[int] = []

    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        self.holds.append(estimate)
        return [f"h{len(self.holds)}"]

    def settle(self, holds: list[str], actual: int) -> None:
        super().settle(holds, actual)
        self.settled.append(actual)


def test_each_call_is_held_at_its_estimate_and_settled_once_at_the_usage(
    avatar: Path, tmp_path: Path, server: str, script: Script
) -> None:
    meter = Ledger()
    look = tmp_path / "look.jpg"
    Image.new("RGB", (1600, 900), (180, 40, 40)).save(look, "JPEG")
    inp = pose_input(avatar, "openai", reference=str(look), portrait=True)
    result = run_pose(LocalContext(tmp_path / "out", meter=meter), inp, Providers(server))
    estimate = OpenAIImages("http://127.0.0.1:9").estimate(128, 128, images=2)
    assert meter.holds == [estimate] * 3  # the portrait and two poses
    assert meter.settled == [OPENAI_CALL] * 3
    assert all(c["images"] == 2 for c in script.calls)  # the look goes with every call
    assert "second image shows the character's look" in script.calls[1]["prompt"]
    assert "portrait" in script.calls[0]["prompt"]
    assert result.result["ai"]["portrait"] == "ai/portrait.png"
    assert (tmp_path / "out" / "ai" / "portrait.png").exists()


def test_a_portrait_alone_needs_no_pose(
    avatar: Path, tmp_path: Path, server: str, script: Script
) -> None:
    inp = pose_input(avatar, "gemini", poses=[], portrait=True)
    assert PoseGenerator().estimate_cost(inp) == 0
    result = run_pose(LocalContext(tmp_path / "out"), inp, Providers(server))
    assert result.result["delivered"] == 0 and result.cost == 0
    assert result.result["ai"]["portrait"] == "ai/portrait.png" and len(script.calls) == 1
    with pytest.raises(InvalidInput) as err:
        pose_input(avatar, "gemini", poses=[])
    assert err.value.code == "no_poses"


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_refusal_is_final_and_not_charged(
    avatar: Path, tmp_path: Path, server: str, script: Script, provider: str
) -> None:
    script.steps = ["faithful", "refuse"]
    meter = Ledger()
    with pytest.raises(InvalidInput) as err:
        run_pose(
            LocalContext(tmp_path / "out", meter=meter),
            pose_input(avatar, provider),
            Providers(server),
        )
    assert err.value.code == "provider_refused"
    call = OPENAI_CALL if provider == "openai" else GEMINI_CALL
    assert meter.settled == [call, 0]  # the refused call settled at zero
    assert len(script.calls) == 2


def test_an_exhausted_budget_stops_before_any_call(
    avatar: Path, tmp_path: Path, server: str, script: Script
) -> None:
    class Spent(spending.Unmetered):
        def reserve(self, estimate: int, provider: str | None) -> list[str]:
            raise BudgetExhausted(f"the {provider} budget is used up")

    with pytest.raises(BudgetExhausted):
        run_pose(
            LocalContext(tmp_path / "out", meter=Spent()),
            pose_input(avatar, "openai"),
            Providers(server),
        )
    assert script.calls == []


def test_a_resumed_job_never_pays_twice_for_a_finished_pose(
    avatar: Path, tmp_path: Path, server: str, script: Script
) -> None:
    """Three poses; the provider is down for the second. The retried attempt resumes from the
    checkpoint: the first pose is neither rendered nor sent again."""
    meter = Ledger()
    ctx = LocalContext(tmp_path / "out", meter=meter, checkpoint_file=tmp_path / "cp.json")
    inp = pose_input(avatar, "openai", poses=["wave-left", "sit-chair", "clap"])
    script.steps = ["faithful", "fail", "faithful"]
    providers = Providers(server)
    with pytest.raises(ProviderFailed) as err:
        run_pose(ctx, inp, providers)
    assert err.value.code == "provider_unavailable"
    first = (tmp_path / "out" / "ai" / "00-wave-left.png").read_bytes()
    assert (tmp_path / "out" / "poses" / "01-sit-chair.png").exists()  # rendered, AI not done
    result = run_pose(ctx, inp, providers)
    assert len(script.calls) == 4  # 1 + the failed one + poses 2 and 3, once each
    assert (tmp_path / "out" / "ai" / "00-wave-left.png").read_bytes() == first
    assert [p["ai"]["file"] for p in result.result["poses"]] == [
        "ai/00-wave-left.png",
        "ai/01-sit-chair.png",
        "ai/02-clap.png",
    ]
    assert result.result["provider_cost_micro_usd"] == 3 * OPENAI_CALL
    estimate = OpenAIImages("http://127.0.0.1:9").estimate(128, 128)
    # the failed call is settled at its estimate (the provider may have charged for it)
    assert meter.settled == [OPENAI_CALL, estimate, OPENAI_CALL, OPENAI_CALL]
    again = run_pose(ctx, inp, providers)  # a third attempt: nothing left to pay for
    assert len(script.calls) == 4 and providers.made == 2
    assert again.result["provider_cost_micro_usd"] == 3 * OPENAI_CALL


def test_a_reference_that_is_not_a_picture_is_refused_before_any_call(
    avatar: Path, tmp_path: Path, server: str, script: Script
) -> None:
    bad = tmp_path / "look.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(InvalidInput) as err:
        run_pose(
            LocalContext(tmp_path / "out"),
            pose_input(avatar, "openai", reference=str(bad)),
            Providers(server),
        )
    assert err.value.code == "invalid_reference" and script.calls == []


def test_ai_options_are_checked_at_submit(avatar: Path) -> None:
    for ai in (
        {"provider": "midjourney", "prompt": "x"},
        {"provider": "gemini", "prompt": ""},
        {"provider": "gemini", "prompt": "x", "model": "../../v1/files"},
    ):
        with pytest.raises(InvalidInput):
            PoseGenerator().parse_input({"avatar": str(avatar), "poses": ["clap"], "ai": ai})


def test_an_answer_that_is_not_a_picture_fails_the_attempt(avatar: Path, tmp_path: Path) -> None:
    class Garbage:
        name = "openai"

        def estimate(self, width: int, height: int, images: int = 1) -> int:
            return 10

        def edit(self, png: bytes, prompt: str, w: int, h: int, refs: Any = ()) -> Any:
            from renderhouse.providers.images.base import ImageResult

            return ImageResult(b"not a png", 7)

        def close(self) -> None:
            pass

    meter = Ledger()
    with pytest.raises(ProviderFailed):
        run_pose(
            LocalContext(tmp_path / "out", meter=meter),
            pose_input(avatar, "openai"),
            lambda n, m: Garbage(),
        )
    assert meter.settled == [7]  # paid as reported, and the job retries
    assert not (tmp_path / "out" / "ai").exists()


def test_the_reference_is_downscaled(tmp_path: Path) -> None:
    from renderhouse.generators.pose.ai_pictures import load_look

    path = tmp_path / "big.png"
    Image.new("RGB", (3000, 1500), (1, 2, 3)).save(path)
    with Image.open(io.BytesIO(load_look(str(path)))) as im:
        assert im.size == (1024, 512)


def test_a_huge_reference_is_refused_from_its_header(tmp_path: Path) -> None:
    """Huge PNGs are small compressed; they are refused before they are decoded (over our
    limit, and over Pillow's bomb limits, warning and error)."""
    from renderhouse.generators.pose.ai_pictures import load_look

    for side in (5000, 10_000, 20_000):
        path = tmp_path / f"huge{side}.png"
        Image.new("1", (side, side)).save(path)
        assert path.stat().st_size < 200_000
        with pytest.raises(InvalidInput) as err:
            load_look(str(path))
        assert err.value.code == "invalid_reference"
        if side == 5000:
            assert "over 4096x4096" in err.value.message


def test_the_cli_draws_ai_pictures_with_the_provider_from_its_environment(
    avatar: Path, tmp_path: Path, server: str, script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from renderhouse.generators.pose.cli import pose

    monkeypatch.setenv("GEMINI_BASE_URL", server)
    monkeypatch.setenv("GEMINI_API_KEY", "test-key")
    out = tmp_path / "out"
    args = [str(avatar), "--pose", "clap", "-o", str(out), "--size", "64"]
    done = CliRunner().invoke(
        pose, [*args, "--ai-provider", "gemini", "--ai-prompt", "a robot", "--ai-portrait"]
    )
    assert done.exit_code == 0, done.output
    assert "ai/00-clap.png" in done.output and "AI pictures: 2" in done.output
    assert (out / "ai" / "portrait.png").exists() and (out / "ai" / "00-clap.png").exists()
    assert [c["model"] for c in script.calls] == ["gemini-2.5-flash-image"] * 2
    half = CliRunner().invoke(pose, [*args, "--ai-provider", "gemini"])
    assert half.exit_code != 0 and "--ai-prompt" in half.output
