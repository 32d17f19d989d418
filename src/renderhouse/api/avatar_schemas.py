"""Request and response bodies of the avatar, project, preset and pose routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from renderhouse.api.paging import Page
from renderhouse.api.schemas import Timestamp
from renderhouse.avatars.avatar_rows import AVATAR_ID
from renderhouse.avatars.own_poses import POSE_NAME
from renderhouse.avatars.projects import PRESET_ID, PROJECT_ID

Name = Annotated[
    str, StringConstraints(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]+$")
]
UploadRef = Annotated[str, StringConstraints(pattern=r"^upload:[A-Za-z0-9_-]{1,64}$")]
BoneMapIn = Annotated[
    dict[
        Annotated[str, StringConstraints(max_length=64)],
        Annotated[str, StringConstraints(max_length=256)],
    ],
    Field(max_length=100, description="canonical bone (VRM name) → joint name in the skin"),
]


class AvatarCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    upload: UploadRef = Field(description="upload:<id> of a rigged GLB (POST /v1/uploads)")
    name: Name | None = Field(None, description="defaults to the upload's file name")
    project_id: Annotated[str, StringConstraints(pattern=PROJECT_ID)] | None = None
    bone_map: BoneMapIn = Field(default_factory=dict)


class AvatarPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name | None = None
    project_id: Annotated[str, StringConstraints(pattern=PROJECT_ID)] | None = Field(
        None, description="null ungroups the avatar"
    )
    bone_map: BoneMapIn | None = Field(
        None, description="replaces the edited bone map ({} returns to the automatic one)"
    )


class AvatarOut(BaseModel):
    id: str
    ref: str = Field(description="avatar:<id>, for a pose job's input.avatar")
    name: str
    project_id: str | None
    upload: str
    bone_map: dict[str, str] = Field(description="the bone map you edited (overrides)")
    mapping: dict[str, Any] = Field(description="the map in use: {scheme, bones}")
    summary: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp


class AvatarPage(Page[AvatarOut]):
    pass


class Use(BaseModel):
    job_id: str
    state: str
    poses: list[str]
    credits_reserved: int
    credits_posted: int
    credits_voided: int
    created_at: Timestamp
    finished_at: Timestamp | None


class UsagePage(Page[Use]):
    avatar_id: str


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    preset_id: Annotated[str, StringConstraints(pattern=PRESET_ID)] | None = None


class ProjectOut(BaseModel):
    id: str
    name: str
    preset_id: str | None
    avatars: int
    created_at: Timestamp
    updated_at: Timestamp


class ShotSettings(BaseModel):
    """A pose job's shot fields (``PoseInput``); a preset holds those you set."""

    model_config = ConfigDict(extra="forbid", strict=True)

    size: int | None = Field(None, ge=64, le=2048)
    camera: Literal["front", "three-quarter", "side", "back"] | None = None
    elevation: float | None = Field(None, ge=-60, le=80)
    fov: float | None = Field(None, ge=10, le=90)
    framing: Literal["full", "upper"] | None = None
    background: Annotated[str, StringConstraints(max_length=64)] | None = None
    lighting: Literal["studio", "soft", "contrast"] | None = None
    aa: Literal["off", "fast", "high", "ultra"] | None = None
    formats: list[Literal["png", "webp"]] | None = Field(None, min_length=1, max_length=2)

    @field_validator("background")
    @classmethod
    def _background(cls, v: str | None) -> str | None:
        from renderhouse.scene.renderer import parse_background

        if v is not None:
            parse_background(v)
        return v


class PresetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    settings: ShotSettings


class PresetOut(BaseModel):
    id: str
    ref: str = Field(description="preset:<id>, for a pose job's input.preset")
    name: str
    settings: dict[str, Any]
    created_at: Timestamp
    updated_at: Timestamp


class PoseCreate(BaseModel):
    """Capture a pose: from an avatar (its stored pose, or one of its clips at a time) or
    from an uploaded GLB's clip at a time."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, StringConstraints(pattern=POSE_NAME)]
    title: Name | None = None
    category: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")] = "custom"
    tags: list[Annotated[str, StringConstraints(max_length=32, pattern=r"^[^\x00]*$")]] = Field(
        default_factory=list, max_length=10
    )
    avatar: Annotated[str, StringConstraints(pattern=AVATAR_ID)] | None = Field(
        None, description="one of your avatars (av_…)"
    )
    upload: UploadRef | None = Field(None, description="or upload:<id> of a rigged GLB")
    clip: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        None, description="an animation clip's name or index; none: the stored pose"
    )
    time: float = Field(0.0, ge=0, le=86400, description="seconds into the clip")


class PoseOut(BaseModel):
    name: str
    title: str
    category: str
    tags: list[str]
    source: Literal["library", "own"]
    thumbnail_url: str
    created_at: Timestamp | None = None


class PoseDetail(PoseOut):
    pose: dict[str, Any] = Field(description="renderhouse-pose/1: rotations and hips offset")


class PoseList(BaseModel):
    data: list[PoseOut]


class Category(BaseModel):
    name: str
    count: int


class CategoryList(BaseModel):
    data: list[Category]
