"""The house keeps its floors: ruff and import-linter run with the tests, as in CI (pyproject.toml holds their rules)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    """The tool installed beside this Python (the test extras), so CI and a newcomer run the same one."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_ruff_finds_nothing_to_fix() -> None:
    result = run(tool("ruff"), "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted_as_ruff_formats_it() -> None:
    result = run(tool("ruff"), "format", "--check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_contracts_are_kept() -> None:
    """Floors, a core free of aiogram, an emulator only the demo starts, and no circles (docs/ARCHITECTURE.md)."""
    result = run(tool("lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_floor_broken_is_found() -> None:
    """The contracts do bite: a core module that imports aiogram breaks them."""
    probe = ROOT / "bot" / "content" / "_probe_for_the_contracts.py"
    probe.write_text("import aiogram  # noqa: F401\n")
    try:
        result = run(tool("lint-imports"), "--no-cache")
    finally:
        probe.unlink()
    assert result.returncode != 0
    assert "bot.content._probe_for_the_contracts -> aiogram" in result.stdout
