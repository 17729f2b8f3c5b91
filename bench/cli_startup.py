"""Start-up time of the ``unioncard`` command, measured against ``import litestar`` in the same run.

Every command runs ROUNDS times in fresh processes, the commands taking turns (so that a busy
spell of a shared machine falls on all of them alike); the table shows each one's median.
"Light" commands need no app: their start-up is timed with ``--help`` (the command is found,
its module imported and its options parsed, then it stops before doing its work), as are
``unioncard --help`` and every group's. Two light commands also run for real (``demo banner``,
``keys new-data-key``), on a scratch var folder. The ``database`` commands (Alembic and every
model) are timed too, for reference, outside the ratios.

Run: ``.venv/bin/python bench/cli_startup.py [--rounds 3] [--budget 100]`` (about a minute on a
quiet machine; on a busy one no round after the second starts if it would end past ``--budget``
seconds). Prints a table, then one line of ``key=value`` figures; ``ratio`` = the slowest light
command's median ÷ ``python -c "import litestar"``'s median (goal ≤ 1.5); ``run_ratio`` the
same for the real runs; ``ratio_min`` the slowest light command's fastest run ÷ the baseline's
fastest, and ``cpu_ratio`` the same with the CPU time the processes used (both less swayed by
other work on a shared machine).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UNIONCARD = Path(sys.executable).with_name("unioncard")
BASELINE = "import litestar"
GROUPS = ["benefits", "card", "demo", "jobs", "keys", "merchants", "privacy", "service", "staff"]
STARTUP = [
    "--help",
    *(f"{g} --help" for g in GROUPS),
    "card token --help",
    "keys list --help",
    "staff create --help",
    "setup --help",
    "demo banner --help",
]
RUNS = ["demo banner", "keys new-data-key --kid k2"]
# Not light: advanced-alchemy's ``database`` group is one module that imports Alembic, and each of
# its commands needs every model; shown for reference (``db_ratio``), outside ``ratio``.
DATABASE = ["database --help", "database upgrade --help"]


def argv(command: str) -> list[str]:
    if command == BASELINE:
        return [sys.executable, "-c", "import litestar"]
    return [str(UNIONCARD), *command.split()]


def once(command: str, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) milliseconds of one run in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv(command), env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{command!r} failed ({proc.returncode}): {proc.stderr[-1000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed * 1000, cpu * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="runs of each command (default 3)")
    ap.add_argument(
        "--budget", type=float, default=100, help="no new round after this many seconds"
    )
    args = ap.parse_args()
    if not UNIONCARD.exists():
        raise SystemExit(f"no {UNIONCARD}: run make install")
    commands = [BASELINE, *STARTUP, *RUNS, *DATABASE]
    with tempfile.TemporaryDirectory(prefix="unioncard-cli-bench-") as var:
        env = {**os.environ, "UNIONCARD_VAR_DIR": var, "UNIONCARD_LOG_LEVEL": "WARNING"}
        for name in ("UNIONCARD_DATABASE_URL", "UNIONCARD_REDIS_URL", "LITESTAR_APP"):
            env.pop(name, None)
        once("keys new-data-key --kid k1", env)  # warm the file cache, create the var folder
        times: dict[str, list[float]] = {c: [] for c in commands}
        cpu: dict[str, list[float]] = {c: [] for c in commands}
        t0 = time.perf_counter()
        rounds = 0
        while rounds < args.rounds:
            start = time.perf_counter()
            for command in commands:
                wall, used = once(command, env)
                times[command].append(wall)
                cpu[command].append(used)
            rounds += 1
            now = time.perf_counter()
            if rounds >= 2 and now - t0 + (now - start) > args.budget:  # the next would not fit
                break
    median = {c: statistics.median(ts) for c, ts in times.items()}
    base = median[BASELINE]
    cpu_median = {c: statistics.median(ts) for c, ts in cpu.items()}

    print(f"{'command':<38}{'median ms':>10}{'min ms':>9}{'÷ litestar':>12}{'CPU ms':>8}")
    for c in commands:
        label = f"python -c '{c}'" if c == BASELINE else f"unioncard {c}"
        if c == RUNS[0]:
            print("(run for real)")
        if c == DATABASE[0]:
            print("(database commands: Alembic and the models; not light)")
        print(
            f"{label:<38}{median[c]:>10.0f}{min(times[c]):>9.0f}{median[c] / base:>12.2f}"
            f"{cpu_median[c]:>8.0f}"
        )
    slowest = max(STARTUP, key=median.__getitem__)
    slowest_run = max(RUNS, key=median.__getitem__)
    heaviest = max(STARTUP, key=cpu_median.__getitem__)
    print(f"slowest light start-up: unioncard {slowest}; slowest run: unioncard {slowest_run}")
    print(f"most CPU among the light start-ups: unioncard {heaviest}")
    figures = {
        "import_litestar_ms": f"{base:.0f}",
        "slowest_light_ms": f"{median[slowest]:.0f}",
        "help_ms": f"{median['--help']:.0f}",
        "slowest_run_ms": f"{median[slowest_run]:.0f}",
        "ratio": f"{median[slowest] / base:.2f}",
        "ratio_min": f"{max(min(times[c]) for c in STARTUP) / min(times[BASELINE]):.2f}",
        "help_ratio": f"{median['--help'] / base:.2f}",
        "run_ratio": f"{median[slowest_run] / base:.2f}",
        "cpu_ratio": f"{cpu_median[heaviest] / cpu_median[BASELINE]:.2f}",
        "db_ratio": f"{max(median[c] for c in DATABASE) / base:.2f}",
        "rounds": str(rounds),
        "seconds": f"{time.perf_counter() - t0:.0f}",
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
