"""Roster import throughput: 100,000 generated members into SQLite and into PostgreSQL.

Run: ``.venv/bin/python bench/import.py`` (about 2 minutes; ``--rows N`` for another size).
Each import runs in a fresh child process — the real job handler through ``JobRunner`` — so its
peak RSS is its own. The same import of a tenth of the rows gives the memory baseline: flat
memory means the peak barely moves with ten times the file. PostgreSQL: a scratch database
(created and dropped here) on ``UNIONCARD_TEST_DATABASE_URL`` or ``postgresql://postgres@
127.0.0.1:5432/postgres``.

Same-run baseline (in a child process too, on the same scratch database): the same file read
by the reader the import uses (``iter_roster``), its rows sent with one raw asyncpg COPY into a
scratch table of text columns. ``ratio`` = import rows/s ÷ baseline rows/s (goal ≥ 0.1): the
cost of everything the import does per row beyond reading and writing it (validation,
hashing, encryption, numbering, cards). ``--profile DIR`` samples the PostgreSQL import with
py-spy (where that per-row time goes). The last line is ``key=value`` figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from cardsvc.jobs.kinds import all_handlers, services_for
from cardsvc.jobs.runner import JobRunner
from cardsvc.kernel.db import import_all_models, make_engine, make_sessionmaker, metadata
from cardsvc.kernel.principal import SYSTEM
from cardsvc.kernel.settings import Settings
from cardsvc.members.models import Member
from cardsvc.orgs.models import OrgLevel
from cardsvc.orgs.service import create_org
from cardsvc.roster.files import StoredFile, UploadSink, upload_dir
from cardsvc.roster.sample import sample_rows, write_csv, write_xlsx
from cardsvc.roster.service import start_import
from cardsvc.wiring import wire

UNIONS = 20
PG_ADMIN = (
    os.environ.get("UNIONCARD_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _asyncpg(url: str) -> str:
    return "postgresql+asyncpg://" + url.split("://", 1)[1] if url.startswith("postgres") else url


def _with_db(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


def _settings(db_url: str, var_dir: Path) -> Settings:
    return Settings(
        environment="production",
        var_dir=var_dir,
        database_url=db_url,
        secret_key="bench-secret-key-0123456789abcdef0123456789",
        data_keys={"b1": b"b" * 32},
        lookup_key=b"bench-lookup-key-0123456789abcdef",
        log_level="WARNING",
    )


def _rss_mb() -> float:
    """Resident memory now (not the process's lifetime peak, which imports dominate)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakRss(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _rss_mb()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.02):
            self.peak = max(self.peak, _rss_mb())


# ---------------------------------------------------------------- child: one import


def _store(path: Path, settings: Settings, fmt: str) -> StoredFile:
    sink = UploadSink(upload_dir(settings), 1 << 30)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            sink.write(chunk)
    return sink.keep(fmt)


async def _child(db_url: str, path: Path, fmt: str, var_dir: Path) -> dict[str, Any]:
    import_all_models()
    settings = _settings(db_url, var_dir)
    engine = make_engine(db_url, pool_size=4)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sm = make_sessionmaker(engine)
    async with sm() as s, s.begin():
        root = await create_org(
            s,
            SYSTEM,
            code="BENCH",
            name="基准测试总工会",
            level=OrgLevel.provincial,
            parent_id=None,
        )
        for i in range(UNIONS):
            await create_org(
                s,
                SYSTEM,
                code=f"BENCH-U{i:02d}",
                name=f"基准基层工会{i:02d}",
                level=OrgLevel.grassroots,
                parent_id=root.id,
            )
        stored = _store(path, settings, fmt)
        job = await start_import(
            s,
            settings,
            SYSTEM,
            stored=stored,
            fmt=fmt,
            filename=path.name,
            dry_run=False,
            org=root,
        )
        job_id = job.id
    wire()
    runner = JobRunner(engine, settings, all_handlers(), services=services_for(settings))
    rss_before = _rss_mb()
    sampler = PeakRss()
    sampler.start()
    cpu = time.process_time()
    start = time.perf_counter()
    assert await runner.run_once()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    sampler.stop.set()
    sampler.join()
    async with sm() as s:
        members = (await s.execute(select(func.count()).select_from(Member))).scalar()
        from cardsvc.jobs.models import Job

        result = (await s.get(Job, job_id)).result
    await engine.dispose()
    return {
        "seconds": seconds,
        "members": members,
        "result": result,
        "rss_before_mb": rss_before,
        "rss_peak_mb": sampler.peak,
        "cpu_seconds": cpu,
    }


async def _baseline(db_url: str, path: Path, fmt: str) -> dict[str, Any]:
    """Read the file with the import's reader and COPY its rows, as text, into a scratch
    table: the floor under any import of it (streamed, so memory stays flat here too)."""
    import asyncpg

    from cardsvc.roster.columns import COLUMNS
    from cardsvc.roster.readers import iter_roster

    conn = await asyncpg.connect(db_url.replace("+asyncpg", ""))
    cols = ", ".join(f"c{i} text" for i in range(len(COLUMNS)))
    await conn.execute(f"CREATE TABLE bench_copy_baseline (row_no int, {cols})")

    def records() -> Any:
        for row_no, values in iter_roster(path, fmt, max_rows=10**7):
            yield (row_no, *(None if v is None else str(v) for v in values))

    cpu = time.process_time()
    start = time.perf_counter()
    await conn.copy_records_to_table("bench_copy_baseline", records=records())
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    rows = await conn.fetchval("SELECT count(*) FROM bench_copy_baseline")
    await conn.execute("DROP TABLE bench_copy_baseline")
    await conn.close()
    return {"seconds": seconds, "rows": rows, "cpu_seconds": cpu}


def run_child(
    db_url: str, path: Path, fmt: str, mode: str = "--child", profile: str | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as var:
        cmd = [sys.executable, __file__, mode, db_url, str(path), fmt, var]
        if profile:
            spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
            out_file = os.path.join(profile, "import.txt")
            cmd = [spy, "record", "--format", "raw", "--nonblocking", "-o", out_file, "--", *cmd]
        out = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            check=False,
        )
    if out.returncode:
        raise SystemExit(f"child failed:\n{out.stderr}")
    # The child's figures: its last JSON line (py-spy, when profiling, prints its own too).
    return json.loads([ln for ln in out.stdout.splitlines() if ln.startswith("{")][-1])


# ---------------------------------------------------------------- where the time goes

# (label, a frame that marks it): shares of the import's samples, a stack counted once per label
PHASES = (
    ("reading the file into the spool (pass one)", "_fill_spool (cardsvc/roster/job.py"),
    ("  openpyxl's dimension scan (no <dimension>)", "ReadOnlyWorksheet._get_size"),
    ("validation (RowValidator.prepare)", "RowValidator.prepare"),
    ("  phone numbers", "_phone (cardsvc/roster/rows.py"),
    ("encryption (PiiCipher.encrypt)", "PiiCipher.encrypt"),
    ("hashing (keyed lookup hashes)", "lookup_hash"),
    ("numbering (member numbers)", "format_member_no"),
    ("member rows and INSERT (apply_batch)", "apply_batch (cardsvc/roster/apply.py"),
    ("cards (issue_cards_for_members)", "issue_cards_for_members"),
    ("hardship proposals", "_propose_hardship"),
)


def profile_shares(path: Path) -> list[tuple[str, float]]:
    """Each phase's share of the samples in a py-spy raw file (``frame;frame;… count``)."""
    total, counts = 0, dict.fromkeys((label for label, _ in PHASES), 0)
    with open(path) as fh:
        for line in fh:
            stack, _, n = line.rstrip().rpartition(" ")
            total += int(n)
            for label, frame in PHASES:
                if frame in stack:
                    counts[label] += int(n)
    return [(label, counts[label] / max(total, 1)) for label, _ in PHASES]


# ---------------------------------------------------------------- parent


async def _pg(sql: str) -> None:
    engine = make_engine(_asyncpg(PG_ADMIN))
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--profile", help="write py-spy raw stacks of the PostgreSQL import here")
    ap.add_argument("--child", nargs=4, metavar=("DB", "FILE", "FMT", "VAR"))
    ap.add_argument("--baseline-child", nargs=4, metavar=("DB", "FILE", "FMT", "VAR"))
    args = ap.parse_args()
    if args.child:
        db, file, fmt, var = args.child
        print(json.dumps(asyncio.run(_child(db, Path(file), fmt, Path(var))), default=str))
        return
    if args.baseline_child:
        db, file, fmt, _ = args.baseline_child
        print(json.dumps(asyncio.run(_baseline(db, Path(file), fmt))))
        return

    unions = [f"BENCH-U{i:02d}" for i in range(UNIONS)]
    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    writer = write_xlsx if args.format == "xlsx" else write_csv
    t = time.perf_counter()
    big = writer(work / f"roster-{args.rows}.{args.format}", sample_rows(args.rows, unions, seed=3))
    small_n = max(1, args.rows // 10)
    small = writer(work / f"roster-{small_n}.{args.format}", sample_rows(small_n, unions, seed=4))
    gen_s = time.perf_counter() - t
    print(
        f"generated {args.rows:,} + {small_n:,} rows as {args.format} in {gen_s:.1f} s "
        f"({big.stat().st_size / 1e6:.1f} MB)"
    )

    runs: dict[str, dict[str, Any]] = {}
    name = f"unioncard_bench_{os.getpid()}"
    try:
        if not args.skip_sqlite:
            runs["sqlite"] = run_child(f"sqlite+aiosqlite:///{work / 'bench.db'}", big, args.format)
        for label, rows_file in (("pg_small", small), ("pg", big)):
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
            db = _with_db(_asyncpg(PG_ADMIN), name)
            profile = args.profile if label == "pg" else None
            runs[label] = run_child(db, rows_file, args.format, profile=profile)
        baseline = run_child(db, big, args.format, "--baseline-child")
    finally:
        asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for p in work.iterdir():
            p.unlink()
        work.rmdir()

    print()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'run':<10} {'rows':>9} {'seconds':>8} {'cpu s':>6} {'rows/s':>8} "
        f"{'rss before':>11} {'rss peak':>9}  result"
    )
    for label, r in runs.items():
        n = r["result"]["rows"]
        print(
            f"{label:<10} {n:>9,} {r['seconds']:>8.1f} {r['cpu_seconds']:>6.1f} "
            f"{n / r['seconds']:>8,.0f} "
            f"{r['rss_before_mb']:>9.0f}MB {r['rss_peak_mb']:>7.0f}MB  "
            f"created={r['result']['created']} errors={r['result']['errors']} members={r['members']}"
        )
        assert r["members"] == n and r["result"]["errors"] == 0
    pg, small_run = runs["pg"], runs["pg_small"]
    growth = (pg["rss_peak_mb"] - pg["rss_before_mb"]) - (
        small_run["rss_peak_mb"] - small_run["rss_before_mb"]
    )
    assert baseline["rows"] == args.rows, baseline
    base_rate = args.rows / baseline["seconds"]
    pg_rate = args.rows / pg["seconds"]
    print(
        f"{'baseline':<10} {args.rows:>9,} {baseline['seconds']:>8.1f} "
        f"{baseline['cpu_seconds']:>6.1f} {base_rate:>8,.0f}  (import's reader + raw COPY)"
    )
    figures = {
        "rows": args.rows,
        "format": args.format,
        "pg_seconds": round(pg["seconds"], 1),
        "pg_rows_per_s": round(args.rows / pg["seconds"]),
        "pg_cpu_seconds": round(pg["cpu_seconds"], 1),
        "pg_job_rss_mb": round(pg["rss_peak_mb"] - pg["rss_before_mb"]),
        "pg_job_rss_tenth_mb": round(small_run["rss_peak_mb"] - small_run["rss_before_mb"]),
        "rss_growth_10x_rows_mb": round(growth),
    }
    if "sqlite" in runs:
        figures["sqlite_seconds"] = round(runs["sqlite"]["seconds"], 1)
        figures["sqlite_rows_per_s"] = round(args.rows / runs["sqlite"]["seconds"])
        figures["sqlite_job_rss_mb"] = round(
            runs["sqlite"]["rss_peak_mb"] - runs["sqlite"]["rss_before_mb"]
        )
    if args.profile:
        print("\nwhere the PostgreSQL import's time goes (py-spy samples, all threads):")
        for label, share in profile_shares(Path(args.profile) / "import.txt"):
            print(f"  {100 * share:5.1f}%  {label}")
    figures["baseline_seconds"] = round(baseline["seconds"], 1)
    figures["baseline_rows_per_s"] = round(base_rate)
    figures["load_avg"] = round(os.getloadavg()[0], 1)
    figures["rss_flat"] = (
        "yes"
        if pg["rss_peak_mb"] - pg["rss_before_mb"]
        < 2 * max(1.0, small_run["rss_peak_mb"] - small_run["rss_before_mb"])
        else "no"
    )
    figures["figure"] = "pg_rows_per_s"
    figures["baseline"] = "baseline_rows_per_s"
    figures["ratio"] = f"{pg_rate / base_rate:.3f}"
    print()
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
