"""The house's import contracts ([tool.importlinter] in pyproject.toml): the core imports no app,
and the apps keep their layers. A failure prints import-linter's report, which names each offending
import with its line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


@pytest.mark.parametrize("contract", ["core-imports-no-app", "app-layers"])
def test_import_contract_is_kept(contract):
    assert LINT_IMPORTS.exists(), "import-linter is missing: install the test extra (pip install -e '.[test]')"
    # A fresh analysis each time (no cache directory left in the tree), from the project root so the
    # packages import from this checkout.
    result = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"import contract {contract!r} is broken:\n{result.stdout}{result.stderr}"
