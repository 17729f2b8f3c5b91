"""Finding ASCII punctuation in Chinese text.

A mark from ``,;:?!()`` is wrong when its neighbour on at least one side is a CJK character
(an ideograph, CJK punctuation or a full-width form). The neighbour is the character right
next to the mark, except that a placeholder standing for a value inside the text (``{code}``,
``{{ n }}``, ``{% endif %}``, ``%s``) is looked through, with the spaces around it: in
``验证码 {code},{minutes} 分钟`` the comma sits between 码 and 分. Code and addresses are not
text: URLs are left out, and so are marks inside a Python format field (``{n:,}``). A bracket
is wrong when its partner is (``中文(abc)`` is wrong at both ends). English text naming a
Chinese term in brackets (``Suspend a card (挂失): …``) is English and keeps its marks.

Templates and JavaScript are scanned as they are (Jinja code reaches Chinese text only through
quotes, which end adjacency); Python sources by their string literals, leaving out what is code
or data rather than text: docstrings, patterns given to ``re``, ``name:number`` data lists and
CSV samples.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MARKS = ",;:?!()"
FULL = dict(zip(MARKS, "，；：？！（）", strict=True))
_CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff5e]")
# Values standing inside text: Jinja output/statements/comments, Python fields, %-formats.
_PLACEHOLDER = re.compile(
    r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|\{[\w.\[\]!:<>^=+\-#%,]*\}|%\(\w+\)[sdr]|%[sdr]",
    re.DOTALL,
)
# English text glossing a Chinese term: "a card (挂失)": a Latin letter, a space, the bracket.
_GLOSS = re.compile(r"[A-Za-z] \(")
_CJK_ONLY = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_FORMAT_FIELD = re.compile(r"\{[\w.\[\]!:<>^=+\-#%,]*\}")
_URL = re.compile(r"[a-z][a-z0-9+.-]*://[!-~]+|/[\w./-]*\?[\w=&%.-]*", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True, slots=True)
class Finding:
    where: str
    line: int
    mark: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: ASCII {self.mark!r} in Chinese text: {self.excerpt}"


def _is_cjk(ch: str) -> bool:
    return bool(_CJK.fullmatch(ch))


def _neighbour(text: str, i: int, step: int, ends: dict[int, int]) -> str:
    """The character beside ``text[i]`` towards ``step``, looking through placeholders."""
    j = i + step
    while 0 <= j < len(text):
        if j in ends:  # a placeholder ends (going left) or starts (going right) here
            j = ends[j] + step
            while 0 <= j < len(text) and text[j] in " \t":
                j += step
            continue
        return text[j]
    return ""


def _pairs(text: str, marks: list[int]) -> dict[int, int]:
    """Brackets (ASCII or full-width) matched with their partner."""
    out: dict[int, int] = {}
    stack: list[int] = []
    for i in marks:
        if text[i] in "(（":
            stack.append(i)
        elif stack:
            j = stack.pop()
            out[i], out[j] = j, i
    return out


def wrong_marks(text: str) -> list[int]:
    """Offsets in ``text`` of ASCII marks that should be full-width."""
    if not _CJK.search(text):
        return []
    skip: set[int] = set()
    for m in _URL.finditer(text):
        skip.update(range(m.start(), m.end()))
    for m in _FORMAT_FIELD.finditer(text):
        skip.update(range(m.start(), m.end()))
    ends: dict[int, int] = {}
    for m in _PLACEHOLDER.finditer(text):
        ends[m.end() - 1] = m.start()  # going left: jump from the last char to the first
        ends[m.start()] = m.end() - 1  # going right: from the first to the last
    for i, ch in enumerate(text):
        if ch == "(" and _GLOSS.match(text, max(0, i - 2)) and i >= 2:
            close = text.find(")", i)
            if close > i and _CJK_ONLY.fullmatch(text[i + 1 : close]):
                skip.update((i, close))
    candidates = [i for i, ch in enumerate(text) if ch in MARKS and i not in skip]
    brackets = [i for i, ch in enumerate(text) if ch in "()（）" and i not in skip]
    partner = _pairs(text, brackets)
    wrong: set[int] = set()
    for i in candidates:
        if _is_cjk(_neighbour(text, i, -1, ends)) or _is_cjk(_neighbour(text, i, 1, ends)):
            wrong.add(i)
    for i in candidates:
        j = partner.get(i)
        if j is not None and (j in wrong or text[j] in "（）"):
            wrong.add(i)
    for i in list(wrong):  # a wrong bracket makes its ASCII partner wrong too
        j = partner.get(i)
        if j is not None and text[j] in "()":
            wrong.add(j)
    return sorted(wrong)


def fix_text(text: str) -> str:
    chars = list(text)
    for i in wrong_marks(text):
        chars[i] = FULL[text[i]]
    return "".join(chars)


def _findings(where: str, text: str, base_line: int = 1) -> Iterator[Finding]:
    for i in wrong_marks(text):
        line = base_line + text.count("\n", 0, i)
        start = text.rfind("\n", 0, i) + 1
        end = text.find("\n", i)
        excerpt = text[start : end if end >= 0 else len(text)].strip()[:120]
        yield Finding(where, line, text[i], excerpt)


def scan_markup(path: Path, root: Path) -> list[Finding]:
    """A template or script: line by line (a placeholder never spans a line of text)."""
    where = str(path.relative_to(root))
    out: list[Finding] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        out.extend(_findings(where, line, n))
    return out


_DATA_LIST = re.compile(r"(?:\S+:[\d.]+\s*)+")


def _is_csv(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return len(lines) >= 2 and len({line.count(",") for line in lines}) == 1 and "," in lines[0]


def _not_text(tree: ast.AST) -> set[int]:
    """Literals that are code, not text: docstrings and the patterns handed to ``re``."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "re"
            and node.args
        ):
            ids.add(id(node.args[0]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def python_strings(source: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each string literal but docstrings; an f-string's fields as ``{}``."""
    tree = ast.parse(source)
    skip = _not_text(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                skip.add(id(v))
                parts.append(v.value if isinstance(v, ast.Constant) else "{}")
            yield node.lineno, "".join(str(p) for p in parts)
        elif (
            isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
        ):
            yield node.lineno, node.value


def _is_data(text: str) -> bool:
    return bool(_DATA_LIST.fullmatch(text.strip())) or _is_csv(text) or "\r\n" in text


def scan_python(path: Path, root: Path) -> list[Finding]:
    where = str(path.relative_to(root))
    out: list[Finding] = []
    for line, text in python_strings(path.read_text(encoding="utf-8")):
        if _is_data(text):
            continue
        out.extend(_findings(where, text.replace("\n", " "), line))
    return out
