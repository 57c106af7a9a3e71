"""The README's configuration table is the one the settings classes produce."""

from __future__ import annotations

from pathlib import Path

from marfiq.configuration import markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- config:begin -->", "<!-- config:end -->"


def test_readme_lists_every_variable_with_its_default() -> None:
    text = README.read_text(encoding="utf-8")
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert documented == markdown_table(), (
        "README configuration table is stale: regenerate it with `.venv/bin/marfiq config-table`"
    )
