"""Edits with more than one input picture (the pose reference and the character's look):
the fake counts them as the official SDKs send them (``image[]`` parts, several inline
parts), and our clients send them the same way, the first picture first."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from renderhouse.providers.images.gemini_images import GeminiImages
from renderhouse.providers.images.openai_images import OpenAIImages
from tests.image_providers.fake_server import Script


def picture(w: int, h: int, colour: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), colour, np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def colour_of(data: bytes) -> tuple[int, ...]:
    with Image.open(io.BytesIO(data)) as im:
        return tuple(int(c) for c in np.asarray(im.convert("RGB"))[4, 4])


def test_openai_sdk_sends_a_list_of_images_as_repeated_parts(
    server: str, script: Script, request: pytest.FixtureRequest
) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{server}/v1", api_key="sk-test", max_retries=0)
    request.addfinalizer(client.close)
    result = client.images.edit(
        model="gpt-image-1",
        image=[
            ("pose.png", picture(32, 32, (10, 200, 10)), "image/png"),
            ("look.png", picture(32, 32, (200, 10, 10)), "image/png"),
        ],
        prompt="this character in this pose",
        size="1024x1024",
    )
    assert result.data and result.data[0].b64_json
    assert script.calls[0]["images"] == 2


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_our_clients_send_the_reference_after_the_picture(
    server: str, script: Script, request: pytest.FixtureRequest, provider: str
) -> None:
    client = (
        OpenAIImages(f"{server}/v1", "sk-test")
        if provider == "openai"
        else GeminiImages(server, "test-key")
    )
    request.addfinalizer(client.close)
    pose, look = picture(64, 64, (10, 200, 10)), picture(64, 64, (200, 10, 10))
    result = client.edit(pose, "this character in this pose", 512, 512, [look])
    assert script.calls[0]["images"] == 2
    # the fake edits the first picture: the pose reference went first
    got = colour_of(result.png)
    assert got[1] > 150 and got[0] < 60, got
    assert result.cost <= client.estimate(512, 512, images=2)
    assert client.estimate(512, 512, images=2) > client.estimate(512, 512)
