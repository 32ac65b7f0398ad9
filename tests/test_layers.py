"""The layer rules (docs/architecture.md) hold: import-linter's contracts in pyproject.toml, and no
module reaches into another module's private (leading underscore) names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "memoire"

# import-linter's command line, run from the checkout so that it reads [tool.importlinter].
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def test_import_contracts_are_kept():
    """Layers (imports only go down, siblings independent), a pure world, no torch in the game
    process, no import cycles: `.venv/bin/lint-imports` prints the same report."""
    proc = subprocess.run([sys.executable, "-c", LINT_IMPORTS, "--no-logo", "--no-cache"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"import-linter: contracts broken\n{proc.stdout}\n{proc.stderr}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(name: str) -> bool:
    """Whether ``name`` (dotted, under memoire) is a module or package of ours."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def resolve_from(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    """The absolute module name of ``from X import ...`` in module ``here``."""
    if not node.level:
        return node.module or ""
    base = here.split(".")
    if not is_package:
        base.pop()
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def private_name_uses(path: Path) -> list[str]:
    """'file:line: what' for each private name of another memoire module that ``path`` uses."""
    here = module_name(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    rel = path.relative_to(ROOT)
    found: list[str] = []
    modules: dict[str, str] = {}  # local name -> the memoire module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] != "memoire":
                    continue
                parts = alias.name.split(".")
                if any(is_private(p) for p in parts):
                    found.append(f"{rel}:{node.lineno}: import {alias.name}")
                if alias.asname:
                    modules[alias.asname] = alias.name
                else:
                    modules[parts[0]] = parts[0]
        elif isinstance(node, ast.ImportFrom):
            source = resolve_from(node, here, path.name == "__init__.py")
            if source.split(".")[0] != "memoire" or source == here:
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if is_private(alias.name) or any(is_private(p) for p in source.split(".")):
                    found.append(f"{rel}:{node.lineno}: from {source} import {alias.name}")
                elif is_module(full):
                    modules[alias.asname or alias.name] = full
    for node in ast.walk(tree):
        # module.attr.attr...: follow submodules from a name bound to one of ours
        if not isinstance(node, ast.Attribute):
            continue
        chain: list[str] = []
        inner: ast.expr = node
        while isinstance(inner, ast.Attribute):
            chain.append(inner.attr)
            inner = inner.value
        if not isinstance(inner, ast.Name) or inner.id not in modules:
            continue
        module = modules[inner.id]
        for attr in reversed(chain):
            if is_private(attr):
                if module != here:
                    found.append(f"{rel}:{node.lineno}: {module}.{attr}")
                break
            if not is_module(f"{module}.{attr}"):
                break
            module = f"{module}.{attr}"
    return sorted(set(found))


def test_no_module_uses_another_modules_private_names():
    """A leading underscore means "only this module": another module that needs the name needs it
    public (and named for what it is)."""
    offences = [o for path in sorted(PACKAGE.rglob("*.py")) for o in private_name_uses(path)]
    assert not offences, "private names used across modules:\n" + "\n".join(offences)


def test_the_private_name_check_sees_both_forms(tmp_path, monkeypatch):
    """The check itself: ``from memoire.x import _name`` and ``x._name`` are found, public names
    and a module's own private names are not."""
    pkg = tmp_path / "memoire"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "low.py").write_text("_hidden = 1\npublic = 2\n")
    (pkg / "high.py").write_text(
        "from memoire.sub.low import _hidden, public\n"
        "from memoire.sub import low\n"
        "import memoire.sub.low as L\n"
        "_mine = 3\n"
        "x = low._hidden + L._hidden + low.public + _mine + low.__name__.__len__()\n")
    (pkg / "sub" / "rel.py").write_text("from .low import _hidden\nfrom . import low\ny = low._hidden\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert private_name_uses(pkg / "high.py") == [
        "memoire/high.py:1: from memoire.sub.low import _hidden",
        "memoire/high.py:5: memoire.sub.low._hidden",
    ]
    assert private_name_uses(pkg / "sub" / "rel.py") == [
        "memoire/sub/rel.py:1: from memoire.sub.low import _hidden",
        "memoire/sub/rel.py:3: memoire.sub.low._hidden",
    ]
