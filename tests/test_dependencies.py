"""Every third-party module the application imports comes from a package its own dependencies
install, not only the test extra: `scripts/demo` installs CoachHub without the test tools, and a
module that only the test extra brings (httpx, once openai 3 stopped requiring it) breaks the demo
on a fresh machine while the whole suite stays green."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
APP_PACKAGES = ("coachhub", "scenarios", "sessions", "scoring", "reports", "programs")


def _installed_by(distribution: str, extras: frozenset[str] = frozenset()) -> set[str]:
    """Distributions `distribution` installs, transitively (names normalised), with those extras."""
    seen: set[str] = set()
    todo = [(distribution, extras)]
    while todo:
        name, wanted = todo.pop()
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            environment = {"extra": next(iter(wanted), "")}
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append((requirement.name, frozenset(requirement.extras)))
    return seen


def _imported_top_level_modules() -> dict[str, str]:
    """Top-level modules the application's code imports, with one file that does."""
    found: dict[str, str] = {}
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def test_every_module_the_application_imports_is_installed_by_its_own_dependencies():
    installed = _installed_by("coachhub")
    providers = metadata.packages_distributions()
    missing = []
    for module, where in sorted(_imported_top_level_modules().items()):
        if module in APP_PACKAGES or module in sys.stdlib_module_names or module == "__future__":
            continue
        distributions = {name.lower().replace("_", "-") for name in providers.get(module, [])}
        if not distributions & installed:
            missing.append(f"{module} (imported by {where}; from {sorted(distributions) or 'nothing installed'})")
    assert not missing, "not installed by CoachHub's own dependencies: " + "; ".join(missing)
