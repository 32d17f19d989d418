"""The plugin seam as a test: generators and the scene renderer are leaves that never import
the platform, and the platform's packages form no import cycle. Read from the source with
``ast`` (imports inside functions count too), so a lazy import cannot slip past."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "renderhouse"
# providers: LLM/image protocol clients, a leaf so generators may call providers themselves.
LEAF_PACKAGES = ("generators", "scene", "providers")
LEAF_MAY_IMPORT = (
    "renderhouse.generators",
    "renderhouse.scene",
    "renderhouse.providers",
    "renderhouse.errors",
)
ROOT_NAMES = {"__version__"}
"""What a leaf may take from the ``renderhouse`` package itself (``from renderhouse import …``)."""


def _module_name(path: Path) -> str:
    root = SRC.parent if path.is_relative_to(SRC.parent) else path.parents[1]
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, tuple[str, ...]]]:
    """(module, line, names) for every absolute or relative import in ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = _module_name(path)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.append((module, node.lineno, tuple(a.name for a in node.names)))
    return found


def _sources(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (SRC / pkg).rglob("*.py"))


@pytest.mark.parametrize("package", LEAF_PACKAGES)
def test_leaves_never_import_the_platform(package: str) -> None:
    offences = []
    for path in _sources(package):
        for module, line, names in _imports(path):
            if not module.startswith("renderhouse"):
                continue
            if module == "renderhouse" and set(names) <= ROOT_NAMES:
                continue
            if not module.startswith(LEAF_MAY_IMPORT):
                offences.append(f"{path.relative_to(SRC.parent)}:{line} imports {module}")
    assert not offences, "the plugin side imports the platform:\n" + "\n".join(offences)


def test_the_example_plugin_uses_only_the_plugin_surface() -> None:
    plugin = SRC.parents[1] / "examples" / "plugin" / "src"
    offences = [
        f"{path.name}:{line} imports {module}"
        for path in sorted(plugin.rglob("*.py"))
        for module, line, _ in _imports(path)
        if module.startswith("renderhouse.") and not module.startswith(LEAF_MAY_IMPORT)
    ]
    assert not offences, offences


def test_the_checker_sees_an_offence(tmp_path: Path) -> None:
    """The walk above would notice a lazy platform import inside a function."""
    probe = SRC / "generators" / "_probe_for_test.py"
    try:
        probe.write_text("def f():\n    from renderhouse.queue import jobs\n")
        with pytest.raises(AssertionError, match=r"imports renderhouse\.queue"):
            test_leaves_never_import_the_platform("generators")
    finally:
        probe.unlink()


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "renderhouse" or len(parts) < 2:
        return None
    return parts[1] if (SRC / parts[1]).is_dir() else None


def test_no_package_cycles() -> None:
    """Between the sub-packages of ``renderhouse`` (modules at the top level are left out:
    they are the wiring)."""
    edges: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        own = _package_of(_module_name(path))
        if own is None:
            continue
        for module, _, _ in _imports(path):
            other = _package_of(module)
            if other and other != own:
                edges.setdefault(own, set()).add(other)

    def reach(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for nxt in edges.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    for leaf in LEAF_PACKAGES:
        assert not reach(leaf) - set(LEAF_PACKAGES), f"{leaf} reaches the platform"
    cycles = sorted(package for package in edges if package in reach(package))
    assert not cycles, f"packages on an import cycle: {cycles} ({edges})"


def test_the_queue_has_a_public_face() -> None:
    """Every name ``renderhouse.queue`` promises is there, and is what its module defines."""
    import importlib

    import renderhouse.queue as queue

    assert sorted(queue.__all__) == sorted(queue._HOME)
    for name in queue.__all__:
        home = importlib.import_module(f"renderhouse.queue.{queue._HOME[name]}")
        assert getattr(queue, name) is getattr(home, name)
    with pytest.raises(AttributeError):
        _ = queue.not_a_name


@pytest.mark.parametrize("package", ["api", "ops"])
def test_api_and_ops_reach_tables_through_their_owners(package: str) -> None:
    """SQL on the store's tables lives with the module that owns each table (the queue, the
    ledger, uploads, the worker registry, the store); routes and operations call those."""
    offences = [
        f"{path.relative_to(SRC.parent)}:{line} imports {module}"
        for path in _sources(package)
        for module, line, _ in _imports(path)
        if module.startswith("renderhouse.store.schema")
    ]
    assert not offences, "\n".join(offences)
