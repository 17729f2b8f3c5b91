"""What a person reads on a page, and the internal names that must never be part of it.

``visible_text`` keeps the text nodes (not scripts, styles, templates or hidden inputs) and the
attributes a person reads (placeholder, title, aria-label, a button's value). ``raw_names``
finds in it an enum value of the code base (collected from the enums themselves) or a dotted
or indexed field path such as ``limits[0].limit``.
"""

from __future__ import annotations

import enum
import importlib
import pkgutil
import re
from functools import cache
from html.parser import HTMLParser

PACKAGES = ("cardsvc", "benefits", "merchants")
SKIP_TAGS = {"script", "style", "template", "noscript", "head"}
READ_ATTRS = ("placeholder", "title", "aria-label", "alt")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

# A field path: ``a.b``, ``a[0]``, ``a[0].b`` (identifiers in lower case), not a file name.
PATH = re.compile(
    r"(?<![\w./@-])[a-z_][a-z0-9_]*(?:\[\d+\])+(?:\.[a-z_][a-z0-9_]*)*"
    r"|(?<![\w./@-])[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)+(?![\w/-])"
)
# Internal words that are not enum members: the phases a job reports while it runs.
JOB_PHASES = frozenset({"reading", "importing", "checking", "applying"})
FILE_ENDINGS = {"csv", "xlsx", "json", "pdf", "png", "jpg", "txt", "com", "cn", "org", "zip"}
WORD = re.compile(r"(?<![\w.@/-])[a-z][a-z0-9_]*(?![\w@/-])")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in SKIP_TAGS:
            self.skip += 1
            return
        if self.skip or (tag == "input" and a.get("type") == "hidden"):
            return
        self.parts.extend(v for k in READ_ATTRS if (v := a.get(k)))
        if tag == "input" and a.get("type") in {"submit", "button"} and a.get("value"):
            self.parts.append(a["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TAGS and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


@cache
def enum_values() -> frozenset[str]:
    """Every string value of every Enum defined in the application's packages."""
    values: set[str] = set()
    for top in PACKAGES:
        pkg = importlib.import_module(top)
        for info in pkgutil.walk_packages(pkg.__path__, f"{top}."):
            if info.name.endswith(("__main__", ".cli")):
                continue
            module = importlib.import_module(info.name)
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, enum.Enum)
                    and obj.__module__ == info.name
                ):
                    values.update(
                        m.value for m in obj if isinstance(m.value, str) and m.value.isascii()
                    )
    return frozenset(v for v in values if re.fullmatch(r"[a-z][a-z0-9_]*", v)) | JOB_PHASES


def raw_names(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The internal names in ``text``: enum values, snake_case identifiers and field paths."""
    found: list[str] = []
    enums = enum_values()
    for line in text.splitlines():
        for m in PATH.finditer(line):
            word = m.group(0)
            if word.rsplit(".", 1)[-1] in FILE_ENDINGS or word in allowed:
                continue
            found.append(f"{word!r} in {line[:80]!r}")
        for m in WORD.finditer(line):
            word = m.group(0)
            if word in allowed:
                continue
            if word in enums or "_" in word:
                found.append(f"{word!r} in {line[:80]!r}")
    return found
