"""The layout stays readable: modules and functions of a readable size, comments about the code.

A module over 500 lines or a function over 80 lines says why at its top: a comment line
``# size: <reason>`` among a module's first 20 lines, or directly above a function's ``def``
(or its decorators).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("cardsvc", "benefits", "merchants")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80
MARK = "# size:"


def _sources() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _has_mark_above(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return first >= 2 and lines[first - 2].strip().startswith(MARK)


def test_modules_are_at_most_500_lines() -> None:
    long = []
    for path in _sources():
        lines = path.read_text().splitlines()
        if len(lines) > MAX_MODULE_LINES and not any(
            line.strip().startswith(MARK) for line in lines[:20]
        ):
            long.append(f"{path.relative_to(ROOT)}: {len(lines)} lines")
    assert not long, long


def test_functions_are_at_most_80_lines() -> None:
    long = []
    for path in _sources():
        text = path.read_text()
        lines = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                if size > MAX_FUNCTION_LINES and not _has_mark_above(lines, node):
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({size})")
    assert not long, long


def test_comments_speak_of_the_code_not_of_the_tracker() -> None:
    """No comment or docstring cites an issue number or the design brief."""
    pattern = re.compile(r"\bissue #?\d+|\bdesign (brief|§)|\bdesign\.md\b", re.IGNORECASE)
    roots = [*PACKAGES, "tests", "bench", "migrations", "scripts"]
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for root in roots
        for p in (ROOT / root).rglob("*.py")
        if p != Path(__file__).resolve()
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found


def test_the_size_check_can_fail() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    text = f"def f() -> None:\n{body}\n"
    tree = ast.parse(text)
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    assert (node.end_lineno or 0) - node.lineno + 1 > MAX_FUNCTION_LINES
    assert not _has_mark_above(text.splitlines(), node)
    marked = f"{MARK} a table of data\n{text}"
    node = ast.parse(marked).body[0]
    assert isinstance(node, ast.FunctionDef)
    assert _has_mark_above(marked.splitlines(), node)
