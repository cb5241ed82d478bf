"""The shipped starter library: validated scenario specs read from ``scenarios/library/*.yaml``.

Read once per process: the files ship with the code, so they can only change on deploy.
"""

from __future__ import annotations

import functools
from pathlib import Path

from scenarios.spec import ScenarioSpec, SpecError, load_yaml

LIBRARY_DIR = Path(__file__).resolve().parent / "library"


class LibraryScenarioNotFound(LookupError):
    """No starter-library scenario has that slug."""


def library_specs() -> list[ScenarioSpec]:
    """Every starter scenario, in file-name order."""
    return list(_load_library())


def library_get(slug: str) -> ScenarioSpec:
    for spec in _load_library():
        if spec.slug == slug:
            return spec
    known = ", ".join(spec.slug for spec in _load_library())
    raise LibraryScenarioNotFound(f"No starter scenario with slug '{slug}'. Known slugs: {known}")


@functools.cache
def _load_library() -> tuple[ScenarioSpec, ...]:
    specs: list[ScenarioSpec] = []
    errors: dict[str, str] = {}
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        try:
            specs.extend(load_yaml(path.read_text(encoding="utf-8")))
        except SpecError as exc:
            # Prefix with the file so a broken shipped file is found at once.
            errors.update({f"{path.name}: {field}": message for field, message in exc.errors.items()})
    seen: set[str] = set()
    for spec in specs:
        if spec.slug in seen:
            errors[f"{spec.slug}: slug"] = "is used by more than one library file"
        seen.add(spec.slug)
    if errors:
        raise SpecError(errors)
    return tuple(specs)
