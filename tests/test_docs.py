"""README and docs/ render as GitHub Markdown: every table row stays in its table.

Rendered with markdown-it-py's CommonMark parser plus the GFM tables rule (what GitHub
uses for tables); a line starting with ``|`` that ends up in a paragraph is a table row
that a blank line (or a malformed row) cut out of its table."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _stray_rows(text: str) -> list[str]:
    """The paragraphs of ``text`` that are lines of pipe-table syntax."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    stray = []
    for before, token in zip(tokens, tokens[1:], strict=False):
        if token.type == "inline" and before.type == "paragraph_open":
            stray += [line for line in token.content.splitlines() if line.startswith("|")]
    return stray


def test_the_checker_sees_a_row_cut_out_of_its_table() -> None:
    cut = "| a | b |\n| --- | --- |\n| 1 | 2 |\n\n| 3 | 4 |\n"
    assert _stray_rows(cut) == ["| 3 | 4 |"]
    assert _stray_rows("| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |\n") == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_table_row_renders_in_its_table(page: Path) -> None:
    assert _stray_rows(page.read_text(encoding="utf-8")) == []


def test_the_docs_exist_and_the_readme_links_them() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("theory.md", "results-format.md", "tutorial-scenario.md", "tutorial-run.md",
                 "search.md", "own-learner.md"):
        assert (ROOT / "docs" / name).is_file(), name
        assert f"docs/{name}" in readme, name
