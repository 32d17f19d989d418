"""The ``pose`` job's input: an avatar, the poses to put it in, and how to shoot them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from renderhouse.generators.fields import UploadedFile

MAX_BATCH = 16
Format = Literal["png", "webp"]
CAMERAS = {"front": 0.0, "three-quarter": 35.0, "side": 90.0, "back": 180.0}


class AIOptions(BaseModel):
    """The optional AI path: per pose, a 2D picture of the character the prompt describes, in
    that pose, from an image provider (paid from the job's budgets, not from credits)."""

    provider: Literal["openai", "gemini"]
    prompt: str = Field(min_length=1, max_length=4000, description="the character to draw")
    model: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="the provider's model"
    )
    reference: Annotated[str | None, UploadedFile("image/png", "image/jpeg", max_mb=20)] = Field(
        None, description="a picture of the character's look (portrait, concept art)"
    )
    portrait: bool = Field(False, description="also one portrait of the character, no pose")


class PoseInput(BaseModel):
    avatar: Annotated[str, UploadedFile("model/gltf-binary", max_mb=64)]
    poses: list[str] = Field(default_factory=list, description="library pose names")
    custom_poses: list[dict[str, Any]] = Field(
        default_factory=list, description="poses in the renderhouse-pose/1 JSON form"
    )
    bone_map: dict[str, str] = Field(
        default_factory=dict, description="canonical bone → joint name, to fix the automatic map"
    )
    size: int = Field(768, ge=64, le=2048)
    camera: Literal["front", "three-quarter", "side", "back"] = "three-quarter"
    elevation: float = Field(8.0, ge=-60, le=80)
    fov: float = Field(30.0, ge=10, le=90)
    framing: Literal["full", "upper"] = "full"
    background: str = "#f2f2f2"
    lighting: Literal["studio", "soft", "contrast"] = "studio"
    aa: Literal["off", "fast", "high", "ultra"] = "high"
    formats: list[Format] = Field(default_factory=lambda: list[Format](["png"]), min_length=1)
    glb: bool = Field(False, description="also write each posed avatar as a GLB")
    contact_sheet: bool = True
    ai: AIOptions | None = Field(None, description="the optional AI path (docs/pose.md)")

    @field_validator("background")
    @classmethod
    def _background(cls, v: str) -> str:
        from renderhouse.scene.renderer import parse_background

        parse_background(v)
        return v

    @field_validator("poses")
    @classmethod
    def _known_poses(cls, v: list[str]) -> list[str]:
        """Refused at enqueue (nothing reserved), not after a worker picked the job up."""
        from renderhouse.generators.pose.pose_format import find_pose

        for name in v[: MAX_BATCH + 1]:
            find_pose(name)
        return v

    @field_validator("custom_poses")
    @classmethod
    def _valid_custom_poses(cls, v: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from renderhouse.generators.pose.pose_format import parse_pose

        for pose in v[: MAX_BATCH + 1]:
            parse_pose(pose)
        return v

    @property
    def count(self) -> int:
        return len(self.poses) + len(self.custom_poses)

    def model_post_init(self, _: Any) -> None:
        from renderhouse.errors import InvalidInput

        if self.count == 0 and not (self.ai and self.ai.portrait):
            raise InvalidInput(
                "give at least one pose (poses or custom_poses), or ask for ai.portrait",
                code="no_poses",
            )
        if self.count > MAX_BATCH:
            raise InvalidInput(
                f"{self.count} poses in one job; the limit is {MAX_BATCH}: split the batch",
                code="batch_too_large",
                details={"poses": self.count, "limit": MAX_BATCH},
            )


def credits_per_pose(size: int) -> int:
    """One credit per pose up to 1024², two above."""
    return 1 if size <= 1024 else 2
