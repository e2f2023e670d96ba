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
                 "search.md", "own-learner.md", "design.md"):
        assert (ROOT / "docs" / name).is_file(), name
        assert f"docs/{name}" in readme, name


def _design_layers() -> dict[str, int]:
    """docs/design.md's table: module (or package folder) path -> its layer."""
    layers = {}
    for line in (ROOT / "docs" / "design.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            layers[cells[1].strip("`")] = int(cells[0])
    return layers


def _entry(path: Path, layers: dict[str, int]) -> str:
    """The table entry of an occ source file: its own row, else its package's."""
    name = path.relative_to(ROOT).as_posix()
    return name if name in layers else path.parent.relative_to(ROOT).as_posix() + "/"


def test_the_design_page_lists_every_module_and_its_imports_run_down() -> None:
    """Every module of occ/ has a row (a package folder row covers its files), and every
    import of one occ module by another, at the top or inside a function, goes from a
    higher layer to a lower one (within a package folder, anything goes)."""
    import ast

    layers = _design_layers()
    sources = sorted((ROOT / "occ").rglob("*.py"))
    missing = [p.relative_to(ROOT).as_posix() for p in sources if _entry(p, layers) not in layers]
    assert missing == []
    files = {p.relative_to(ROOT).with_suffix("").as_posix().replace("/", "."): p
             for p in sources}
    files |= {k.removesuffix(".__init__"): p for k, p in files.items()}
    upward = []
    for path in sources:
        here = _entry(path, layers)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [f"{node.module}.{a.name}" for a in node.names]  # or attributes
            else:
                names = []
            for name in names:
                while name and name not in files:
                    name = name.rpartition(".")[0]
                if not name.startswith("occ"):
                    continue
                there = _entry(files[name], layers)
                same_folder = files[name].parent == path.parent != ROOT / "occ"
                if there != here and not same_folder and layers[there] >= layers[here]:
                    upward.append(f"{here} (layer {layers[here]}) imports {there} "
                                  f"(layer {layers[there]})")
    assert upward == []
