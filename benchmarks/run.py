"""Benchmark csm-kit's revenue pipeline against hand-written DuckDB SQL and a naive pandas version.

    python benchmarks/run.py --customers 100000 1000000

For each size it generates data with ``csm-kit sample`` (Parquet, cached in benchmarks/data/),
then, in this one process, times the median of ``--repeat`` runs of:

- the I/O floor: reading subscriptions.parquet into pandas with the kit's column types;
- the kit's pipeline — customer_months → mrr_movements → mrr_bridge → cohort_retention (logo
  and revenue) — on each engine: ``auto`` (the default, engine=None), pandas, duckdb, polars;
- the hand-written DuckDB SQL reference of the same pipeline (reference_sql.sql);
- the naive groupby-apply pandas version (naive.py), once, at sizes up to ``--naive-max``.

Every run starts from the same in-memory pandas frame and ends with pandas results. Results are
checked against the SQL reference (the kit exactly, the naive version to 1e-9). Peak memory is
the peak resident set size (VmHWM in /proc/self/status) of a fresh subprocess that reads the
input and runs one pipeline once, so each figure is one pipeline's own peak (Python, pandas,
Arrow and DuckDB memory alike). The table of medians, peak memory and
ratios is printed and written as Markdown to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
warnings.filterwarnings("ignore", message=".*does not yet fully support pandas.*")

import pandas as pd  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402

from benchmarks import naive  # noqa: E402
from benchmarks.reference_sql import run_reference  # noqa: E402
from csm_kit import engine as eng  # noqa: E402
from csm_kit.cohorts import cohort_retention  # noqa: E402
from csm_kit.revenue import customer_months, mrr_bridge, mrr_movements  # noqa: E402

STAGES = ("customer_months", "movements", "bridge", "cohorts")
KIT_ENGINES = ("auto", "pandas", "duckdb", "polars")
ROW_LEVEL = ("customer_months", "movements")
TARGETS = {"sql_ratio": 1.2, "naive_speedup": 50.0, "peak_gb": 3.0}


class Timer:
    """Collects the wall-clock seconds of named stages: ``with timer("stage"): ...``."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        start = time.perf_counter()
        yield
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


# --------------------------------------------------------------------------- data


def sample_dir(data_dir: Path, customers: int, months: int, seed: int) -> Path:
    """Generate (once) the customers and subscriptions tables as Parquet with ``csm-kit sample``."""
    folder = data_dir / f"c{customers}_m{months}_s{seed}"
    if (folder / "subscriptions.parquet").exists():
        return folder
    cli = shutil.which("csm-kit", path=str(Path(sys.executable).parent)) or shutil.which("csm-kit")
    command = [cli] if cli else [sys.executable, "-c", "from csm_kit.cli import main; main()"]
    command += ["sample", "--customers", str(customers), "--months", str(months), "--seed",
                str(seed), "--out", str(folder), "--tables", "customers,subscriptions",
                "--format", "parquet"]
    print(f"generating {customers:,} customers x {months} months: {' '.join(command[1:])}",
          flush=True)
    subprocess.run(command, check=True)
    return folder


def read_subscriptions(folder: Path) -> pd.DataFrame:
    """The I/O floor: subscriptions.parquet as pandas with the kit's types (as the loader reads it)."""
    frame = pq.read_table(folder / "subscriptions.parquet").to_pandas(date_as_object=False)
    for column in ("start_date", "end_date"):
        frame[column] = frame[column].astype("datetime64[ns]")
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame


# --------------------------------------------------------------------------- pipelines


def kit_pipeline(subs: pd.DataFrame, engine: str | None, timer) -> dict[str, pd.DataFrame]:
    """The kit's public calls, each on the subscriptions frame, as an analyst makes them."""
    out = {}
    with timer("customer_months"):
        out["customer_months"] = customer_months(subs, engine=engine)
    with timer("movements"):
        out["movements"] = mrr_movements(subs, engine=engine)
    with timer("bridge"):
        out["bridge"] = mrr_bridge(subs, engine=engine)
    with timer("cohorts"):
        out["logo_cohorts"] = cohort_retention(subs, kind="logo", engine=engine)
        out["revenue_cohorts"] = cohort_retention(subs, kind="revenue", engine=engine)
    return out


def naive_timed(subs: pd.DataFrame, timer) -> dict[str, pd.DataFrame]:
    as_of = _as_of_period(subs)
    out = {}
    with timer("customer_months"):
        out["customer_months"] = naive.naive_customer_months(subs, as_of)
    with timer("movements"):
        out["movements"] = naive.naive_movements(out["customer_months"], as_of)
    with timer("bridge"):
        out["bridge"] = naive.naive_bridge(out["movements"], as_of)
    with timer("cohorts"):
        out["logo_cohorts"] = naive.naive_cohorts(out["customer_months"], as_of, kind="logo")
        out["revenue_cohorts"] = naive.naive_cohorts(out["customer_months"], as_of,
                                                     kind="revenue")
    return out


def _as_of_period(subs: pd.DataFrame) -> pd.Period:
    from csm_kit.periods import last_complete_month

    latest = max(subs["start_date"].max(), subs["end_date"].max() - pd.Timedelta(days=1))
    return last_complete_month(latest).to_period("M")


def method_runner(method: str) -> Callable:
    """``run(subs, timer) -> outputs`` for a method name: kit:<engine>, sql, naive."""
    if method == "sql":
        return lambda subs, timer: run_reference(subs, timer=timer)
    if method == "naive":
        return naive_timed
    engine = method.split(":", 1)[1]
    return lambda subs, timer: kit_pipeline(subs, None if engine == "auto" else engine, timer)


# --------------------------------------------------------------------------- checks


def same_numbers(got: dict, expected: dict, *, exact: bool) -> str:
    """Compare outputs with the (sorted) SQL reference's; '' when equal, else the first difference."""
    for name, want in expected.items():
        have = got[name]  # pandas row-level results come sorted by customer and month
        try:
            pd.testing.assert_frame_equal(have, want, check_exact=exact, rtol=1e-9, atol=1e-9)
        except AssertionError as exc:
            return f"{name}: {str(exc).splitlines()[0]}"
    return ""


# --------------------------------------------------------------------------- memory


class MarkingTimer(Timer):
    """A :class:`Timer` that also notes the process's peak RSS after each stage."""

    def __init__(self):
        super().__init__()
        self.marks: dict[str, int] = {}

    @contextlib.contextmanager
    def __call__(self, stage: str):
        with super().__call__(stage):
            yield
        self.marks[stage] = _peak_bytes()


def probe(method: str, folder: Path) -> None:
    """Child process: read the input, run one pipeline once, print peak RSS after each stage."""
    subs = read_subscriptions(folder)
    timer = MarkingTimer()
    timer.marks["read"] = _peak_bytes()
    if method != "read":
        method_runner(method)(subs, timer)
    print(json.dumps(timer.marks))


def _peak_bytes() -> int:
    """This process's peak resident set size: VmHWM from /proc/self/status on Linux.

    Not getrusage's ru_maxrss: on Linux that keeps the RSS the process had before its exec,
    i.e. the (large) benchmark process that forked it.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # elsewhere: KiB


def peak_memory(method: str, folder: Path) -> dict[str, int]:
    command = [sys.executable, str(Path(__file__).resolve()), "--probe", method,
               "--probe-data", str(folder)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- measuring


def run_once(method: str, subs: pd.DataFrame) -> tuple[dict[str, float], dict]:
    """One cold run: seconds per stage, ``total`` (wall) and ``cpu`` (all threads), outputs."""
    eng.forget_reused()  # every run starts cold: nothing kept from an earlier one
    gc.collect()
    timer = Timer()
    cpu = time.process_time()
    outputs = method_runner(method)(subs, timer)
    seconds = dict(timer.seconds)
    seconds["total"] = sum(timer.seconds.values())
    seconds["cpu"] = time.process_time() - cpu
    return seconds, outputs


def measure(methods: list[str], subs: pd.DataFrame, repeat: int, label: str) -> dict:
    """Median seconds per method over ``repeat`` rounds, methods interleaved within a round
    (so a busy spell on a shared machine hits every method alike); the naive version runs in
    the first round only. Round one also checks every method against the SQL reference."""
    runs: dict[str, list] = {method: [] for method in methods}
    mismatch: dict[str, str] = {}
    reference = None
    for round_ in range(repeat):
        for method in methods:
            if method == "naive" and round_ > 0:
                continue
            print(f"  {label}: {method} (round {round_ + 1} of {repeat})", flush=True)
            seconds, outputs = run_once(method, subs)
            runs[method].append(seconds)
            if round_ == 0 and method == "sql":
                reference = sorted_rows(outputs)
            elif round_ == 0 and reference is not None:
                mismatch[method] = same_numbers(outputs, reference, exact=method != "naive")
            del outputs
    return {method: {"seconds": {key: statistics.median(run[key] for run in done)
                                 for key in done[0]},
                     "repeat": len(done), "mismatch": mismatch.get(method, "")}
            for method, done in runs.items()}


def sorted_rows(outputs: dict) -> dict:
    """The reference's row-level outputs sorted by customer and month (DuckDB sorts them)."""
    import duckdb
    import pyarrow as pa

    out = dict(outputs)
    for name in ROW_LEVEL:
        table = pa.Table.from_pandas(outputs[name], preserve_index=False)
        ordered = duckdb.connect().from_arrow(table).order("customer_id, month").to_arrow_table()
        out[name] = eng.arrow_to_pandas(ordered)
    return out


def bench_size(customers: int, args) -> dict:
    folder = sample_dir(args.data_dir, customers, args.months, args.seed)
    floor = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        subs = read_subscriptions(folder)
        floor.append(time.perf_counter() - start)
    result = {"customers": customers, "subscriptions": len(subs), "rows": {},
              "auto_engine": eng.choose_engine(subs)}
    result["rows"]["read"] = {"seconds": {"total": statistics.median(floor)}}
    methods = ["sql", *[f"kit:{e}" for e in args.engines]]
    if customers <= args.naive_max:
        methods.append("naive")
    result["rows"].update(measure(methods, subs, args.repeat, f"{customers:,} customers"))
    if not args.no_memory:
        for method in ["read", *[m for m in methods if m != "naive"]]:
            print(f"  {customers:,} customers: peak memory of {method}", flush=True)
            result["rows"][method]["memory"] = peak_memory(method, folder)
    return result


# --------------------------------------------------------------------------- report


def label(method: str, result: dict) -> str:
    if method == "read":
        return "I/O floor (read Parquet)"
    if method == "sql":
        return "DuckDB SQL reference"
    if method == "naive":
        return "naive pandas (groupby-apply)"
    engine = method.split(":", 1)[1]
    return f"kit, engine=auto (→ {result['auto_engine']})" if engine == "auto" else f"kit, engine={engine}"


def size_table(result: dict) -> list[str]:
    rows = result["rows"]
    sql_total = rows["sql"]["seconds"]["total"]
    lines = [f"### {result['customers']:,} customers × {ARGS.months} months "
             f"({result['subscriptions']:,} subscriptions)", "",
             "| pipeline | customer-months s | movements s | bridge s | cohorts s | total s | "
             "CPU s | peak memory GB | ÷ DuckDB SQL | naive ÷ this | same numbers |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for method, row in rows.items():
        sec = row["seconds"]
        cells = [f"{sec[s]:.2f}" if s in sec else "" for s in STAGES]
        memory = row.get("memory")
        peak = f"{max(memory.values()) / 1e9:.2f}" if memory else "n/m"
        ratio = f"{sec['total'] / sql_total:.2f}" if method not in ("read",) else ""
        naive = rows.get("naive", {}).get("seconds", {}).get("total")
        speedup = f"{naive / sec['total']:.0f}×" if naive and method.startswith("kit") else ""
        same = "" if method in ("read", "sql") else ("yes" if not row.get("mismatch") else
                                                     f"NO: {row['mismatch']}")
        repeat = " (1 run)" if row.get("repeat") == 1 and ARGS.repeat > 1 else ""
        cpu = f"{sec['cpu']:.2f}" if "cpu" in sec else ""
        lines.append(f"| {label(method, result)}{repeat} | {' | '.join(cells)} | "
                     f"{sec['total']:.2f} | {cpu} | {peak} | {ratio} | {speedup} | {same} |")
    return lines + [""]


def targets(results: list[dict]) -> list[str]:
    by_size = {r["customers"]: r["rows"] for r in results}
    lines = ["## Targets (issue #6)", "", "| target | measured | met |", "|---|---|---|"]

    def verdict(ok):
        return "yes" if ok else "**no**"

    big, small = max(by_size), min(by_size)
    kit = {n: rows["kit:auto"]["seconds"]["total"] for n, rows in by_size.items() if "kit:auto" in rows}
    if big in kit:
        ratio = kit[big] / by_size[big]["sql"]["seconds"]["total"]
        cpu = by_size[big]["kit:auto"]["seconds"]["cpu"] / by_size[big]["sql"]["seconds"]["cpu"]
        lines.append(f"| kit pipeline within {TARGETS['sql_ratio']}× of the DuckDB SQL reference "
                     f"at {big:,} customers | {ratio:.2f}× wall clock ({cpu:.2f}× CPU time) | "
                     f"{verdict(ratio <= TARGETS['sql_ratio'])} |")
    naive_sizes = [n for n, rows in by_size.items() if "naive" in rows and n in kit]
    for n in naive_sizes:
        speedup = by_size[n]["naive"]["seconds"]["total"] / kit[n]
        lines.append(f"| kit at least {TARGETS['naive_speedup']:.0f}× faster than the naive version "
                     f"at {n:,} | {speedup:.0f}× | {verdict(speedup >= TARGETS['naive_speedup'])} |")
    memory = by_size[big].get("kit:auto", {}).get("memory")
    if memory:
        peak = max(memory.values()) / 1e9
        lines.append(f"| kit peak memory under {TARGETS['peak_gb']:.0f} GB at {big:,} | {peak:.2f} GB "
                     f"| {verdict(peak < TARGETS['peak_gb'])} |")
    if big != small and big in kit and small in kit:
        growth = (kit[big] / kit[small]) / (big / small)
        lines.append(f"| time grows no faster than linearly from {small:,} to {big:,} | "
                     f"{kit[big] / kit[small]:.1f}× the time for {big / small:.0f}× the customers "
                     f"({growth:.2f} of linear) | {verdict(growth <= 1.0)} |")
    return lines + [""]


def environment() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    load = os.getloadavg()
    packages = ", ".join(f"{name} {installed(name)}"
                         for name in ("pandas", "pyarrow", "duckdb", "narwhals", "polars"))
    return [f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python "
            f"{platform.python_version()}; {packages}. Load average when the report was written: "
            f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min).", ""]


def crossover(args) -> list[dict]:
    """Pipeline medians on the pandas and the DuckDB engine at small sizes (the threshold)."""
    rows = []
    for customers in sorted(args.crossover):
        subs = read_subscriptions(sample_dir(args.data_dir, customers, args.months, args.seed))
        timed = measure(["kit:pandas", "kit:duckdb"], subs, args.repeat,
                        f"crossover {customers:,} customers")
        rows.append({"customers": customers, "subscriptions": len(subs),
                     "pandas": timed["kit:pandas"]["seconds"]["total"],
                     "duckdb": timed["kit:duckdb"]["seconds"]["total"]})
    return rows


def crossover_table(rows: list[dict]) -> list[str]:
    lines = ["## Where DuckDB starts to pay (the automatic engine's threshold)", "",
             f"`engine=None` runs a pandas frame of `csm_kit.engine.DUCKDB_MIN_ROWS` = "
             f"{eng.DUCKDB_MIN_ROWS:,} subscription rows or more on DuckDB. Whole pipeline, medians:",
             "", "| customers | subscriptions | pandas engine s | DuckDB engine s | "
             "DuckDB ÷ pandas |", "|---:|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['customers']:,} | {row['subscriptions']:,} | {row['pandas']:.2f} | "
                     f"{row['duckdb']:.2f} | {row['duckdb'] / row['pandas']:.2f} |")
    return lines + [""]


def report(results: list[dict], started: str, crossing: list[dict]) -> str:
    lines = ["# Benchmark results", "",
             f"Written by `python benchmarks/run.py {' '.join(sys.argv[1:])}` on {started}. "
             f"Medians of {ARGS.repeat} runs (the naive version: 1 run), wall-clock seconds "
             "(CPU s: all threads; the pipelines were interleaved run by run); every run "
             "starts from the subscriptions as an in-memory pandas frame and ends with pandas "
             "results. Peak memory: peak RSS of a fresh process that reads the input and runs "
             "that pipeline once (VmHWM of /proc/self/status; n/m = not measured). Cohorts = logo and "
             "revenue matrices. See benchmarks/README.md for what each pipeline does.", "",
             *environment()]
    lines += targets(results)
    for result in results:
        lines += size_table(result)
    if crossing:
        lines += crossover_table(crossing)
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per pipeline (median)")
    parser.add_argument("--engines", default=",".join(KIT_ENGINES),
                        help=f"kit engines to time, comma-separated (default {','.join(KIT_ENGINES)})")
    parser.add_argument("--naive-max", type=int, default=100_000,
                        help="largest size at which the naive version runs (it is slow)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory probes")
    parser.add_argument("--crossover", type=int, nargs="*", default=[1000, 2000, 5000, 10000, 20000],
                        help="small sizes at which to time the pandas against the DuckDB engine "
                             "(the automatic threshold); none to skip")
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--probe", help=argparse.SUPPRESS)
    parser.add_argument("--probe-data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in args.engines if e not in KIT_ENGINES]
    if unknown:
        parser.error(f"--engines must be among {list(KIT_ENGINES)}, got {unknown[0]!r}")
    if "polars" in args.engines and importlib.util.find_spec("polars") is None:
        print("polars is not installed (it comes with the dev extra): skipping engine=polars")
        args.engines.remove("polars")
    return args


def main(argv=None) -> None:
    global ARGS
    ARGS = parse_args(argv)
    if ARGS.probe:
        probe(ARGS.probe, ARGS.probe_data)
        return
    started = time.strftime("%Y-%m-%d %H:%M")
    results = [bench_size(n, ARGS) for n in sorted(ARGS.customers)]
    text = report(results, started, crossover(ARGS))
    print("\n" + text)
    old = ARGS.out.read_text() if ARGS.out.exists() else ""
    kept = old[old.index("<!-- report.py"):] if "<!-- report.py" in old else ""  # report.py's
    ARGS.out.write_text(text + "\n" + ("\n" + kept if kept else ""))
    print(f"\nwrote {ARGS.out}")


ARGS: argparse.Namespace

if __name__ == "__main__":
    main()
