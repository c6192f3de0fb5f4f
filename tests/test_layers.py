"""The layers hold (docs/architecture.md): the core knows no feature, a feature uses the core
through its public modules only, and one feature reads another only through that feature's
package (``handlers.<other>``), never its submodules.

Every import counts — module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import bot

ROOT = Path(__file__).resolve().parents[1]
CORE = ("bot", "storage", "schedules")
# the core's public surface for features
PUBLIC = {"bot", "bot.web_public", "bot.wecom_api"}
# the data layer a feature may use: models and dialect helpers (not engines or migrations)
STORAGE_OK = ("storage.models", "storage.dialect", "storage.types")
# handlers/ files that are not a feature: the list of features and the composition root
ROOT_FILES = {"handlers/__init__.py", "handlers/app.py"}


def imports(path: Path, root: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) for every import in the file (relative ones resolved)."""
    package = list(path.relative_to(root).parts[:-1])
    found: list[tuple[int, str, list[str]]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                mod = ".".join([*base, mod] if mod else base)
            found.append((node.lineno, mod, [a.name for a in node.names]))
    yield from sorted(found, key=lambda f: f[0])


def feature_of(rel: str) -> str:
    """``handlers/checkin/repo.py`` -> ``checkin``; ``handlers/help.py`` -> ``help``."""
    return rel.split("/")[1].removesuffix(".py")


def is_module(root: Path, dotted: str) -> bool:
    p = root.joinpath(*dotted.split("."))
    return p.with_suffix(".py").is_file() or (p / "__init__.py").is_file()


def violations(root: Path) -> list[str]:
    """Every import that breaks a layer rule, as ``path:line: reason``."""
    out: list[str] = []
    for top in CORE:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            for line, mod, _names in imports(path, root):
                if mod == "handlers" or mod.startswith("handlers."):
                    out.append(f"{rel}:{line}: the core imports {mod} (features are handed in)")
    for path in sorted((root / "handlers").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ROOT_FILES:
            continue
        own = feature_of(rel)
        for line, mod, names in imports(path, root):
            parts = mod.split(".")
            if parts[0] == "handlers" and len(parts) == 1:
                for n in names:  # from handlers import x: only whole features, and not oneself
                    if n == "FEATURES":
                        out.append(f"{rel}:{line}: a feature imports the features list")
            elif parts[0] == "handlers" and parts[1] != own:
                if len(parts) > 2:
                    out.append(f"{rel}:{line}: imports {mod}, a submodule of feature {parts[1]}")
                for n in names:
                    if is_module(root, f"{mod}.{n}"):
                        out.append(
                            f"{rel}:{line}: imports {mod}.{n}, a submodule of feature {parts[1]}"
                        )
            elif parts[0] == "bot":
                if mod not in PUBLIC:
                    out.append(f"{rel}:{line}: imports {mod}, not part of the core's surface")
                elif mod == "bot":
                    for n in names:
                        if n not in bot.__all__:
                            out.append(f"{rel}:{line}: imports bot.{n}, not in bot.__all__")
            elif parts[0] == "storage" and not mod.startswith(STORAGE_OK):
                out.append(f"{rel}:{line}: imports {mod} (features use models and dialect only)")
    return out


def test_layers_hold() -> None:
    found = violations(ROOT)
    assert not found, "layer rules broken:\n" + "\n".join(found)


def test_checker_names_file_and_line(tmp_path: Path) -> None:
    """The checker itself: each kind of breach is reported with its file and line."""
    files = {
        "bot/__init__.py": "",
        "bot/dispatch/__init__.py": "",
        "bot/dispatch/router.py": "",
        "bot/core.py": "def f():\n    import handlers.checkin\n",
        "schedules/x.py": "from handlers import FEATURES\n",
        "storage/db.py": "",
        "handlers/__init__.py": "from handlers import a, b\n",
        "handlers/a/__init__.py": "",
        "handlers/a/repo.py": "",
        "handlers/b/__init__.py": "",
        "handlers/b/x.py": (
            "from handlers.a import repo\n"
            "from handlers.a.repo import thing\n"
            "from handlers.a import thing_ok\n"
            "from bot.dispatch.router import Router\n"
            "from bot import Context\n"
            "from storage.db import Database\n"
            "from handlers.b import x\n"
        ),
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = violations(tmp_path)
    assert found == [
        "bot/core.py:2: the core imports handlers.checkin (features are handed in)",
        "schedules/x.py:1: the core imports handlers (features are handed in)",
        "handlers/b/x.py:1: imports handlers.a.repo, a submodule of feature a",
        "handlers/b/x.py:2: imports handlers.a.repo, a submodule of feature a",
        "handlers/b/x.py:4: imports bot.dispatch.router, not part of the core's surface",
        "handlers/b/x.py:6: imports storage.db (features use models and dialect only)",
    ], found


# Handlers reach their tables through repositories (bot/repository.py, ``ctx.repo(Cls)``),
# never the unit of work's session or batch. A file may be let off here only while it is
# being converted; an entry must go as soon as its file is clean
# (``test_the_allow_list_only_shrinks``). Empty: keep it so.
UNIT_OF_WORK_ALLOWED: set[str] = set()
# what only the core's repository base class (and the dispatcher) may know of a batch
BATCH_WORDS = {"batch", "deferred", "memo", "forget", "memo_add"}


def unit_of_work_uses(path: Path) -> list[str]:
    """``line: what`` for each use of the batch or the session in a handler module:
    ``ctx.session``, ``ctx.batch``, ``<x>.batch``/``.deferred``/``.memo``/``.forget``,
    ``Batch`` or ``bot.dispatch.batch`` imported."""
    out: list[str] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr == "session" and isinstance(node.value, ast.Name):
                if node.value.id == "ctx":
                    out.append(f"{node.lineno}: ctx.session")
            elif node.attr in BATCH_WORDS:
                out.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom):
            names = [a.name for a in node.names]
            if (node.module or "").startswith("bot.dispatch") or "Batch" in names:
                out.append(f"{node.lineno}: imports the batch")
    return sorted(out, key=lambda s: int(s.split(":")[0]))


def unit_of_work_violations(root: Path, allowed: set[str]) -> list[str]:
    out = []
    for path in sorted((root / "handlers").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel in ROOT_FILES or rel in allowed:
            continue
        out += [f"{rel}:{use}" for use in unit_of_work_uses(path)]
    return out


def test_handlers_reach_tables_through_repositories() -> None:
    found = unit_of_work_violations(ROOT, UNIT_OF_WORK_ALLOWED)
    assert not found, (
        "handler modules touching the unit of work (use a repository, ctx.repo(...)):\n"
        + "\n".join(found)
    )


def test_the_allow_list_only_shrinks() -> None:
    """An allowed file that no longer touches the batch or the session leaves the list."""
    clean = sorted(
        rel
        for rel in UNIT_OF_WORK_ALLOWED
        if not (ROOT / rel).is_file() or not unit_of_work_uses(ROOT / rel)
    )
    assert not clean, f"remove from UNIT_OF_WORK_ALLOWED: {clean}"


def test_the_unit_of_work_checker_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "handlers" / "a").mkdir(parents=True)
    (tmp_path / "handlers" / "a" / "x.py").write_text(
        "from bot import Batch\n"
        "async def f(ctx):\n"
        "    await ctx.session.execute(1)\n"
        "    if ctx.batch.deferred:\n"
        "        ctx.batch.memo[1] = 2\n"
        "    await ctx.repo(A).get(1)\n"
    )
    found = unit_of_work_violations(tmp_path, set())
    assert found == [
        "handlers/a/x.py:1: imports the batch",
        "handlers/a/x.py:3: ctx.session",
        "handlers/a/x.py:4: .deferred",
        "handlers/a/x.py:4: .batch",
        "handlers/a/x.py:5: .memo",
        "handlers/a/x.py:5: .batch",
    ], found
