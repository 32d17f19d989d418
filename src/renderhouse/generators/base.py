"""The generator plugin contract and its registry (entry-point group
``renderhouse.generators``; the built-in generators are registered the same way)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from renderhouse.errors import DuplicateKind, InvalidInput, UnknownKind
from renderhouse.generators.context import Context
from renderhouse.generators.outcomes import Outcome

ENTRY_POINT_GROUP = "renderhouse.generators"


class Resources(BaseModel):
    """What a generator needs. ``isolated`` runs it in a pool child process (CPU-heavy,
    crash- and timeout-isolated); otherwise it runs inline on the worker's event loop."""

    cpu: float = 1.0
    memory_mb: int = 512
    gpu: bool = False
    isolated: bool = True


class Generator:
    """Subclass, set the class attributes and implement ``run`` (sync when isolated,
    ``async def`` when not). Instances live as long as their worker process, so state
    kept on ``self`` (renderer contexts, caches) stays warm between jobs."""

    kind: ClassVar[str]
    Input: ClassVar[type[BaseModel]]
    default_timeout: ClassVar[float] = 600.0
    resources: ClassVar[Resources] = Resources()
    description: ClassVar[str] = ""
    internal: ClassVar[bool] = False
    """Enqueued by Renderhouse itself (webhook deliveries, scheduled backups): the HTTP API
    answers for it as for an unknown kind, so it cannot be used as a relay or a trigger."""
    paid_providers: ClassVar[tuple[str, ...]] = ()
    """Providers whose paid APIs ``run`` calls through ``ctx.spend``; while a budget they
    draw on is used up, the API refuses such jobs (402 ``budget_exhausted``)."""

    def estimate_cost(self, input: Any) -> int:
        """Credits this job is expected to cost (reserved at enqueue)."""
        return 0

    def run(self, ctx: Context, input: Any) -> Outcome | dict[str, Any] | None:
        raise NotImplementedError

    def parse_input(self, data: Any) -> BaseModel:
        try:
            return self.Input.model_validate(data)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            first = errors[0] if errors else {"field": "input", "message": "invalid"}
            raise InvalidInput(
                f"invalid input for {self.kind}: {first['field']}: {first['message']}",
                details={"errors": errors},
            ) from exc


class Registry:
    """Kind string → generator class; built from entry points or explicitly in tests."""

    def __init__(self, generators: Iterable[type[Generator]] = ()) -> None:
        self._classes: dict[str, type[Generator]] = {}
        self._instances: dict[str, Generator] = {}
        for cls in generators:
            self.add(cls)

    @classmethod
    def from_entry_points(cls) -> Registry:
        registry = cls()
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            gen_cls = ep.load()
            if getattr(gen_cls, "kind", None) != ep.name:
                raise DuplicateKind(
                    f"entry point {ep.name!r} ({ep.value}) declares kind "
                    f"{getattr(gen_cls, 'kind', None)!r}; the names must match"
                )
            registry.add(gen_cls, source=ep.value)
        return registry

    def add(self, cls: type[Generator], source: str | None = None) -> None:
        if cls.kind in self._classes and self._classes[cls.kind] is not cls:
            existing = self._classes[cls.kind]
            raise DuplicateKind(
                f"generator kind {cls.kind!r} is registered twice: by "
                f"{existing.__module__}.{existing.__qualname__} and by "
                f"{source or cls.__module__ + '.' + cls.__qualname__}; uninstall or rename one",
                details={"kind": cls.kind},
            )
        self._classes[cls.kind] = cls

    def kinds(self) -> list[str]:
        return sorted(self._classes)

    def cls(self, kind: str) -> type[Generator]:
        try:
            return self._classes[kind]
        except KeyError:
            raise UnknownKind(
                f"unknown job kind {kind!r}; known kinds: {', '.join(self.kinds()) or 'none'}",
                details={"kind": kind, "known": self.kinds()},
            ) from None

    def public_kinds(self) -> list[str]:
        """The kinds callers may submit (internal ones left out)."""
        return [k for k, cls in sorted(self._classes.items()) if not cls.internal]

    def public(self, kind: str) -> Generator:
        """``get`` for a kind callers may submit; internal kinds are refused as unknown, and
        the error names only the public ones."""
        cls = self._classes.get(kind)
        if cls is None or cls.internal:
            public = self.public_kinds()
            raise UnknownKind(
                f"unknown job kind {kind!r}; known kinds: {', '.join(public) or 'none'}",
                details={"kind": kind, "known": public},
            )
        return self.get(kind)

    def get(self, kind: str) -> Generator:
        """The (process-wide, warm) instance for ``kind``."""
        if kind not in self._instances:
            self._instances[kind] = self.cls(kind)()
        return self._instances[kind]
