"""Run every benchmark and print one table: each figure beside its same-run baseline.

Every ``bench/NAME.py`` (not this file, not ``_*.py`` helpers) is run in turn with this
Python; its output goes through as it comes, and its last line of ``key=value`` figures is
parsed. A bench names its same-run baseline with ``ratio=`` (our figure ÷ the baseline, e.g.
engine vs raw asyncpg): the pair of figures is taken from ``BASELINES`` for the known benches,
and for a new bench found as the two figures whose quotient is ``ratio`` (or named outright
with ``figure=<key> baseline=<key>`` in its last line). The other figures are listed below
their bench's headline.

Usage: ``.venv/bin/python bench/all.py [--only cards,soak] [--soak-seconds 60]
[--args 'NAME=--seconds 5']`` (``make bench``; ``make bench BENCH_ARGS='--soak-seconds 60'``).
Exit 1 if a bench failed (the table still prints what the others measured).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# bench -> (figure, its same-run baseline)
BASELINES = {
    "cards": ("verify_per_s", "raw_verify_per_s"),
    "cli_startup": ("slowest_light_ms", "import_litestar_ms"),
    "import": ("pg_rows_per_s", "baseline_rows_per_s"),
    "redeem": ("engine_rps", "raw_rps"),
    "scan_redeem": ("pairs_per_s", "pgbench_tps"),
    "soak": ("requests_per_s", "health_live_rps"),
}


def benches() -> list[str]:
    return sorted(
        p.stem for p in HERE.glob("*.py") if p.name != "all.py" and not p.name.startswith("_")
    )


def parse_figures(output: str) -> dict[str, str]:
    """The last line made only of ``key=value`` words."""
    for line in reversed(output.splitlines()):
        words = line.split()
        if words and all("=" in w and not w.startswith("=") for w in words):
            return dict(w.split("=", 1) for w in words)
    return {}


def _num(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def headline(name: str, figures: dict[str, str]) -> tuple[str, str] | None:
    """(figure, baseline) keys of a bench, if it has a same-run baseline."""
    if "figure" in figures and "baseline" in figures:
        return figures["figure"], figures["baseline"]
    if name in BASELINES and all(k in figures for k in BASELINES[name]):
        return BASELINES[name]
    ratio = _num(figures.get("ratio"))
    if not ratio:
        return None
    numbers = {k: v for k, s in figures.items() if k != "ratio" and (v := _num(s))}
    best: tuple[float, tuple[str, str]] | None = None
    for a, va in numbers.items():
        for b, vb in numbers.items():
            if a != b and vb:
                err = abs(va / vb - ratio) / ratio
                if err < 0.05 and (best is None or err < best[0]):
                    best = (err, (a, b))
    return best[1] if best else None


def run(name: str, extra: list[str]) -> tuple[int, float, dict[str, str]]:
    cmd = [sys.executable, str(HERE / f"{name}.py"), *extra]
    print(f"== {name}: {shlex.join(cmd[1:])}", flush=True)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        sys.stdout.write(line)
        lines.append(line)
    rc = proc.wait()
    return rc, time.perf_counter() - t0, parse_figures("".join(lines))


def table(results: dict[str, tuple[int, float, dict[str, str]]]) -> list[str]:
    out = [f"{'bench':<13}{'figure':<22}{'value':>12}  {'same-run baseline':<30}{'ratio':>7}"]
    for name, (rc, seconds, figures) in results.items():
        status = "" if rc == 0 else f"  (FAILED, exit {rc})"
        if not figures:
            out.append(f"{name:<13}{'(no figures)':<22}{'':>12}  {'':<30}{'':>7}{status}")
            continue
        pair = headline(name, figures)
        shown = {"ratio", "figure", "baseline"}
        if pair is not None:
            fig, base = pair
            ratio = figures.get("ratio")
            if ratio is None and (vf := _num(figures[fig])) and (vb := _num(figures[base])):
                ratio = f"{vf / vb:.3f}"
            out.append(
                f"{name:<13}{fig:<22}{figures[fig]:>12}  "
                f"{base + ' = ' + figures[base]:<30}{ratio or '':>7}{status}"
            )
            shown |= {fig, base}
            status = ""
        for k, v in figures.items():
            if k not in shown:
                out.append(f"{name:<13}{k:<22}{v:>12}{status}")
                status = ""
        out.append(f"{name:<13}{'(bench seconds)':<22}{seconds:>12.0f}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--only", help="comma-separated bench names")
    ap.add_argument("--soak-seconds", type=float, help="length of the soak (its default: 600)")
    ap.add_argument(
        "--args",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help="extra arguments for one bench (repeatable)",
    )
    args = ap.parse_args()
    names = benches()
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(names)
        if unknown:
            ap.error(f"no such bench: {', '.join(sorted(unknown))} (have {', '.join(names)})")
        names = [n for n in names if n in wanted]
    extra: dict[str, list[str]] = {}
    for item in args.args:
        name, _, rest = item.partition("=")
        extra.setdefault(name, []).extend(shlex.split(rest))
    if args.soak_seconds is not None:
        extra.setdefault("soak", []).extend(["--seconds", str(args.soak_seconds)])

    results = {name: run(name, extra.get(name, [])) for name in names}
    print()
    print("\n".join(table(results)))
    sys.exit(0 if all(rc == 0 for rc, _, _ in results.values()) else 1)


if __name__ == "__main__":
    main()
