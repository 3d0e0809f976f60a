"""Benchmark ``csm-kit report`` end to end: wall time, phases and peak memory, against a floor.

    python benchmarks/report.py                          # the bundled sample, 3 rounds
    python benchmarks/report.py --sizes sample 100000 1000000 --repeat 3 --repeat-large 1

For each dataset (the bundled sample, and datasets of N customers made once with
``csm-kit sample --customers N``, cached in benchmarks/data/, git-ignored) it runs the real
command, ``csm-kit report --data D --out TMP --jobs J``, as a subprocess, ``--repeat`` times,
and records:

- **wall**: from starting the command to its exit (interpreter start and imports included);
- **phases of the CLI** (before and after the notebooks): reading + validation, data quality,
  health scores, KPIs, the snapshot handed to the notebooks, and the rest (interpreter start,
  imports, option checks). They come from the same run: ``--probe-cli`` runs the command's
  own entry point (``csm_kit.cli.app``) in-process with timers wrapped around those functions;
- **phases of each notebook**, from the executed ``.ipynb`` papermill writes (cell start and
  end times) and ``manifest.json`` (the notebook's total, HTML export included): kernel start
  (papermill's notebook start to its first cell), setup cell (imports + ``open_report``),
  computation (every other cell), HTML export and writing (the rest). The imports alone are
  measured by the imports floor (below); "data load" is the setup cell minus it;
- **peak memory**: the process tree (the CLI and its kernels) is sampled every 0.1 s with
  psutil; the peak of the summed RSS, of the summed PSS (pages shared between processes, such
  as the memory-mapped snapshot, counted once) and the largest single process are reported.

The **floor** is measured in the same rounds, interleaved with the report runs, through the
same pipeline (``csm_kit.report.runner.run_reports``: one kernel per worker, papermill,
nbconvert HTML export, index and manifest): as many empty notebooks as the report has (only
the parameters cell) at the same ``--jobs``. A second floor adds the report notebooks' import
lines (``import csm_kit``, plotting, display helpers), so imports are a measured difference.
Ratios: report wall ÷ floor wall (empty notebooks), and the issue's target
``report ≤ 1.5 × floor-per-notebook × notebooks ÷ jobs``.

Timings on a shared machine are noisy: medians over the rounds are reported, with the load
average and the CPU other processes used during the runs. The figures are written to
benchmarks/RESULTS.md, between the ``report.py`` markers (``run.py`` keeps that part); with
``--label`` in a section of its own (e.g. the baseline measured on main before a change).
Python writes bytecode caches here as on a user's machine: ``PYTHONDONTWRITEBYTECODE`` is
removed from the children's environment (with it set every kernel recompiles the kit's modules).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
MARK = "<!-- report.py{label}: {end} -->"

#: Functions timed in the CLI (outermost call only), in the order the report shows them.
CLI_PHASES = {
    "validation": ("csm_kit.data.loading", "load_dataset"),
    "data quality": ("csm_kit.data.quality", "data_quality"),
    "health scores": ("csm_kit.health.scores", "health_scores"),
    "KPIs": ("csm_kit.kpis", "kpi_table"),
    "snapshot": ("csm_kit.report.snapshot", "write_snapshot"),
    "exports": ("csm_kit.cli", "report_exports"),
    "notebooks (run_reports)": ("csm_kit.report.runner", "run_reports"),
}

#: The targets of issue 18 (seconds, GB); None = no target for that size.
TARGETS = {
    "sample": {"wall": 20.0, "floor_ratio": 1.5, "rss": None},
    100_000: {"wall": 60.0, "floor_ratio": None, "rss": 2.0},
    1_000_000: {"wall": 360.0, "floor_ratio": None, "rss": 8.0},
}
IMPORT_TARGET = 1.0


# --------------------------------------------------------------------------- helpers


def child_env() -> dict:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("MPLBACKEND", None)
    return env


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class TreeSampler:
    """Samples the RSS of a process and its descendants every ``interval`` seconds, and the
    CPU used by the whole machine, to tell this run's CPU from other processes'."""

    def __init__(self, pid: int, interval: float = 0.1):
        import psutil

        self.psutil = psutil
        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_tree = 0
        self.peak_pss = 0
        self.peak_single = 0
        self.peak_single_role = None  # "CLI" or "kernel": which process held the most
        self.at_peak = []  # (role, RSS) of every process when the summed RSS peaked
        self.stop = threading.Event()
        self.cpu_tree = {}
        self.load = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.busy_start = psutil.cpu_times()
        self.t0 = time.perf_counter()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        busy_end = self.psutil.cpu_times()
        wall = time.perf_counter() - self.t0
        cores = os.cpu_count() or 1

        def busy(t):
            return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0)

        machine = busy(busy_end) - busy(self.busy_start)
        ours = sum(self.cpu_tree.values())
        self.machine_cpu_share = machine / (wall * cores) if wall > 0 else None
        self.other_cpu_share = max(machine - ours, 0) / (wall * cores) if wall > 0 else None

    def _run(self):
        while not self.stop.is_set():
            with contextlib.suppress(Exception):
                procs = [self.root, *self.root.children(recursive=True)]
                total = pss = 0
                sizes = []
                for p in procs:
                    with contextlib.suppress(Exception):
                        mem = p.memory_full_info()  # rss, and pss: shared pages divided
                        total += mem.rss
                        pss += getattr(mem, "pss", mem.rss)
                        role = "CLI" if p.pid == self.root.pid else "kernel"
                        sizes.append((role, mem.rss))
                        if mem.rss > self.peak_single:
                            self.peak_single, self.peak_single_role = mem.rss, role
                        t = p.cpu_times()
                        self.cpu_tree[p.pid] = t.user + t.system
                if total > self.peak_tree:
                    self.at_peak = sorted(sizes, key=lambda x: -x[1])
                self.peak_tree = max(self.peak_tree, total)
                self.peak_pss = max(self.peak_pss, pss)
            self.load.append(os.getloadavg()[0])
            self.stop.wait(self.interval)


def run_measured(cmd: list[str], *, cwd: Path | None = None) -> dict:
    """Run ``cmd``; return wall seconds, exit code, peak RSS (tree, single), CPU shares."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=out, stderr=subprocess.STDOUT)
        with TreeSampler(proc.pid) as sampler:
            code = proc.wait()
        wall = time.perf_counter() - t0
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    return {"wall": wall, "code": code, "output": text[-4000:],
            "peak_tree_gb": sampler.peak_tree / 1e9, "peak_single_gb": sampler.peak_single / 1e9,
            "peak_pss_gb": sampler.peak_pss / 1e9, "peak_single_role": sampler.peak_single_role,
            "at_peak": [(role, rss / 1e9) for role, rss in sampler.at_peak if rss > 50e6],
            "other_cpu": sampler.other_cpu_share, "machine_cpu": sampler.machine_cpu_share,
            "load": median(sampler.load)}


# --------------------------------------------------------------------------- data


def dataset_for(size, data_dir: Path) -> Path | None:
    """None for the bundled sample; else a folder made once with ``csm-kit sample``."""
    if size == "sample":
        return None
    folder = data_dir / f"report_c{size}"
    if not (folder / "customers.csv").exists():
        print(f"generating {size:,} customers into {folder} ...", flush=True)
        subprocess.run([str(BIN / "csm-kit"), "sample", "--customers", str(size), "--out",
                        str(folder)], check=True, env=child_env())
    return folder


# --------------------------------------------------------------------------- floors


def floor_notebooks(folder: Path, count: int, *, imports: bool) -> list[Path]:
    """``count`` notebooks holding the report notebooks' parameters cell (and import lines)."""
    import nbformat

    template = nbformat.read(ROOT / "notebooks" / "00_overview.ipynb", as_version=4)
    params = next(c for c in template.cells if "parameters" in c.metadata.get("tags", []))
    cells = [nbformat.v4.new_code_cell(params.source, metadata={"tags": ["parameters"]})]
    if imports:
        setup = next(c for c in template.cells if "open_report(" in c.source)
        lines = [line for line in setup.source.splitlines()
                 if line.startswith(("%matplotlib", "import ", "from "))]
        cells.append(nbformat.v4.new_code_cell("\n".join(lines)))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        nb = nbformat.v4.new_notebook(cells=cells, metadata=template.metadata)
        path = folder / f"{i:02d}_floor.ipynb"
        nbformat.write(nb, path)
        paths.append(path)
    return paths


def probe_floor(args) -> None:
    """In a child process: run the floor notebooks through run_reports; print JSON timings."""
    from csm_kit.report.runner import run_reports

    notebooks = sorted(Path(args.probe_floor).glob("*.ipynb"))
    with tempfile.TemporaryDirectory() as out:
        run = run_reports(notebooks, out_dir=Path(out), as_of="2026-10-31", parameters={},
                          jobs=args.jobs, progress=False)
        phases = [notebook_phases(Path(run.folder), r.name, r.seconds) for r in run.results]
    print("FLOOR-JSON " + json.dumps({"seconds": run.seconds, "ok": run.ok, "notebooks": phases}))


# --------------------------------------------------------------------------- report phases


def notebook_phases(folder: Path, name: str, seconds: float) -> dict:
    """Kernel start, setup cell, computation and export seconds of one executed notebook."""
    import nbformat
    from dateutil.parser import isoparse

    out = {"name": name, "total": seconds}
    path = folder / f"{name}.ipynb"
    if not path.exists():
        return out
    nb = nbformat.read(path, as_version=4)
    meta = nb.metadata.get("papermill", {})
    cells = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("papermill", {})
             .get("start_time")]
    if not cells or not meta.get("start_time"):
        return out
    start = isoparse(meta["start_time"])
    first = isoparse(cells[0].metadata.papermill["start_time"])
    out["kernel start"] = (first - start).total_seconds()
    setup = sum(c.metadata.papermill.get("duration") or 0 for c in cells
                if "open_report(" in c.source or c.source.lstrip().startswith(("import", "%matplotlib")))
    rest = sum(c.metadata.papermill.get("duration") or 0 for c in cells) - setup
    out["setup cell"] = setup
    out["computation"] = rest
    out["papermill"] = meta.get("duration")
    if meta.get("duration") is not None:
        out["export"] = max(seconds - meta["duration"], 0.0)
    return out


class _PhaseTimer:
    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.active = 0
        self.t0 = time.perf_counter()

    def wrap(self, phase, func):
        import functools

        @functools.wraps(func)
        def timed(*args, **kwargs):
            if self.active:
                return func(*args, **kwargs)
            self.active += 1
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[phase] = self.seconds.get(phase, 0.0) + time.perf_counter() - start
                self.active -= 1
        return timed


def probe_cli(argv: list[str], out_json: Path) -> None:
    """In a child process: run ``csm-kit`` (csm_kit.cli.app) with timers around CLI_PHASES."""
    t_start = time.perf_counter()
    import importlib

    import csm_kit.cli as cli

    timer = _PhaseTimer()
    t_imported = time.perf_counter()
    originals = {}
    for phase, (module_name, attr) in CLI_PHASES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        func = getattr(module, attr, None)
        if func is not None:
            originals[phase] = (func, timer.wrap(phase, func))
    # replace every reference a loaded csm_kit module holds (``from x import f`` copies)
    for module in [m for n, m in list(sys.modules.items()) if n.startswith("csm_kit")]:
        for name, value in list(vars(module).items()):
            for func, wrapped in originals.values():
                if value is func:
                    setattr(module, name, wrapped)
    code = 0
    try:
        cli.app(argv, prog_name="csm-kit")
    except SystemExit as exc:
        code = exc.code or 0
    total = time.perf_counter() - t_start
    out_json.write_text(json.dumps({"phases": timer.seconds, "cli_total": total,
                                    "cli_imports": t_imported - t_start, "code": code}))
    sys.exit(code if isinstance(code, int) else 1)


def run_report(data: Path | None, jobs: int, workdir: Path) -> dict:
    out = workdir / "reports"
    shutil.rmtree(out, ignore_errors=True)
    probe = workdir / "probe.json"
    argv = ["report", "--out", str(out), "--jobs", str(jobs)]
    if data is not None:
        argv += ["--data", str(data)]
    result = run_measured([sys.executable, str(Path(__file__).resolve()), "--probe-cli",
                           str(probe), "--", *argv], cwd=ROOT)
    if result["code"] != 0:
        print(result["output"], file=sys.stderr)
    folder = next((p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")), None) \
        if out.exists() else None
    manifest = json.loads((folder / "manifest.json").read_text()) if folder else {}
    result["probe"] = json.loads(probe.read_text()) if probe.exists() else {}
    result["manifest_seconds"] = manifest.get("seconds")
    result["notebooks"] = [notebook_phases(folder, n["name"], n["seconds"])
                           for n in manifest.get("notebooks", [])]
    result["failed"] = [n["name"] for n in manifest.get("notebooks", []) if n["status"] != "ok"]
    result["fingerprint"] = manifest.get("data_fingerprint")
    return result


def run_floor(folder: Path, jobs: int) -> dict:
    result = run_measured([sys.executable, str(Path(__file__).resolve()), "--probe-floor",
                           str(folder), "--jobs", str(jobs)], cwd=ROOT)
    line = next((line for line in result["output"].splitlines() if line.startswith("FLOOR-JSON ")),
                None)
    if line is None:
        print(result["output"], file=sys.stderr)
        raise SystemExit("the floor run failed")
    result.update(json.loads(line.removeprefix("FLOOR-JSON ")))
    return result


def import_time(repeat: int) -> dict:
    """``python -c "import csm_kit"`` wall seconds (median; bytecode cached) and the top
    imports by cumulative time from ``-X importtime``."""
    cmd = [sys.executable, "-c", "import csm_kit"]
    subprocess.run(cmd, env=child_env(), check=True)  # writes the bytecode caches
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=child_env(), check=True)
        walls.append(time.perf_counter() - t0)
    base = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=child_env(), check=True)
        base.append(time.perf_counter() - t0)
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import csm_kit"],
                         env=child_env(), capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].rstrip()
            depth = (len(name) - len(name.lstrip())) // 2
            rows.append((int(parts[1]) / 1e6, depth, name.strip()))
    top = sorted([r for r in rows if r[1] <= 2], reverse=True)[:8]
    return {"wall": median(walls), "python": median(base), "top": top}


# --------------------------------------------------------------------------- report


def fmt(value, spec=".1f", suffix=""):
    return "" if value is None else f"{value:{spec}}{suffix}"


def summarise(size, runs, floors, ifloors, jobs, n_notebooks) -> dict:
    ok = [r for r in runs if r["code"] == 0]
    pick = ok or runs
    floor_nb = median([n["total"] for f in floors for n in f["notebooks"]])
    floor_wall = median([f["seconds"] for f in floors])
    floor_kernel = median([n.get("kernel start") for f in floors for n in f["notebooks"]])
    floor_export = median([n.get("export") for f in floors for n in f["notebooks"]])
    imports = median([n.get("setup cell") for f in ifloors for n in f["notebooks"]])
    wall = median([r["wall"] for r in pick])
    phases = {}
    for r in pick:
        for k, v in r["probe"].get("phases", {}).items():
            phases.setdefault(k, []).append(v)
    cli_total = median([r["probe"].get("cli_total") for r in pick])
    notebooks_s = median([r["probe"].get("phases", {}).get("notebooks (run_reports)")
                          for r in pick])
    by_nb = {}
    for r in pick:
        for n in r["notebooks"]:
            by_nb.setdefault(n["name"], []).append(n)
    nb_rows = {name: {k: median([x.get(k) for x in rows]) for k in
                      ("total", "kernel start", "setup cell", "computation", "export")}
               for name, rows in by_nb.items()}
    bound = None if floor_nb is None else floor_nb * n_notebooks / jobs
    return {
        "size": size, "runs": len(runs), "ok_runs": len(ok), "wall": wall,
        "walls": [r["wall"] for r in runs],
        "peak_tree": max(r["peak_tree_gb"] for r in pick),
        "peak_single": max(r["peak_single_gb"] for r in pick),
        "peak_pss": max(r.get("peak_pss_gb", 0) for r in pick) or None,
        "peak_single_role": max(pick, key=lambda r: r["peak_single_gb"]).get("peak_single_role"),
        "at_peak": max(pick, key=lambda r: r["peak_tree_gb"]).get("at_peak", []),
        "phases": {k: median(v) for k, v in phases.items()},
        "cli_total": cli_total, "cli_imports": median([r["probe"].get("cli_imports") for r in pick]),
        "notebooks_s": notebooks_s, "nb": nb_rows, "floor_nb": floor_nb, "floor_wall": floor_wall,
        "floor_kernel": floor_kernel, "floor_export": floor_export, "imports": imports,
        "bound": bound, "failed": sorted({f for r in runs for f in r["failed"]}),
        "other_cpu": median([r["other_cpu"] for r in runs]),
        "load": median([r["load"] for r in runs]), "fingerprint": pick[0].get("fingerprint"),
    }


def markdown(summaries, imports, args, n_notebooks) -> str:
    import pandas as pd

    cores = os.cpu_count()
    section = f" ({args.label})" if args.label else ""
    lines = [
        MARK.format(label=section, end="start"),
        f"# Report-suite benchmark (`benchmarks/report.py`){section}",
        "",
        f"Written by `python benchmarks/report.py {' '.join(sys.argv[1:])}` on "
        f"{time.strftime('%Y-%m-%d %H:%M')}. `csm-kit report --jobs {args.jobs}` run as a "
        f"subprocess; medians of the rounds (sample: {args.repeat}, larger datasets: "
        f"{args.repeat_large}), report runs and floors interleaved. Wall = command start to exit. "
        "Peak memory = summed RSS of the command and its kernels, sampled every 0.1 s "
        "(largest single process in brackets); PSS = the same with pages shared between "
        "processes (the memory-mapped snapshot, libraries) counted once. See the docstring of "
        "benchmarks/report.py.",
        "",
        f"Machine: {cores} cores, {platform.platform()}, Python {platform.python_version()}, "
        f"pandas {pd.__version__}. Shared with other developers: load average "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1 / 5 / 15 min) when written; "
        "\"other CPU\" = the share of the machine's CPU time used by processes outside the "
        "benchmark during the runs.",
        "",
        "## Targets (issue 18)",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    imp_ok = imports["wall"] - imports["python"] <= IMPORT_TARGET
    lines.append(f"| `import csm_kit` ≤ {IMPORT_TARGET:.0f} s warm | {imports['wall']:.2f} s "
                 f"wall ({imports['wall'] - imports['python']:.2f} s over a bare `python -c pass`"
                 f" of {imports['python']:.2f} s) | {'yes' if imp_ok else 'no'} |")
    for s in summaries:
        t = TARGETS.get(s["size"], {})
        label = "bundled sample" if s["size"] == "sample" else f"{s['size']:,} customers"
        if t.get("wall"):
            lines.append(f"| {label}: ≤ {t['wall']:.0f} s end to end | {s['wall']:.1f} s "
                         f"({', '.join(f'{w:.0f}' for w in s['walls'])}) | "
                         f"{'yes' if s['wall'] <= t['wall'] and not s['failed'] else 'no'} |")
        if t.get("floor_ratio") and s["bound"]:
            ratio = s["wall"] / s["bound"]
            lines.append(f"| {label}: ≤ {t['floor_ratio']} × floor × notebooks ÷ jobs "
                         f"({s['floor_nb']:.1f} s × {n_notebooks} ÷ {args.jobs} = {s['bound']:.1f} s)"
                         f" | {ratio:.2f}× | {'yes' if ratio <= t['floor_ratio'] else 'no'} |")
        if t.get("rss"):
            lines.append(f"| {label}: peak RSS ≤ {t['rss']:.0f} GB | {s['peak_tree']:.2f} GB "
                         f"(largest process {s['peak_single']:.2f} GB, "
                         f"{s['peak_single_role'] or '?'}; at the peak: "
                         f"{', '.join(f'{role} {gb:.2f}' for role, gb in s['at_peak']) or '?'} GB; "
                         f"PSS {fmt(s['peak_pss'], '.2f')} GB) | "
                         f"{'yes' if s['peak_tree'] <= t['rss'] else 'no'} |")
    lines += ["", "## End to end", "",
              "| dataset | runs | wall s | ÷ floor wall | CLI before/after notebooks s | "
              "notebooks s | peak RSS GB (largest process) | other CPU | load | failed |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for s in summaries:
        label = "sample" if s["size"] == "sample" else f"{s['size']:,}"
        outside = None if s["notebooks_s"] is None else s["wall"] - s["notebooks_s"]
        lines.append(
            f"| {label} | {s['runs']} | {s['wall']:.1f} | "
            f"{fmt(s['wall'] / s['floor_wall'] if s['floor_wall'] else None, '.2f')} | "
            f"{fmt(outside)} | {fmt(s['notebooks_s'])} | {s['peak_tree']:.2f} "
            f"({s['peak_single']:.2f}) | {fmt(100 * s['other_cpu'] if s['other_cpu'] is not None else None, '.0f', '%')} | "
            f"{fmt(s['load'])} | {', '.join(s['failed']) or '—'} |")
    f0 = summaries[0]
    lines += ["", f"Floor (same rounds): {n_notebooks} empty notebooks through run_reports at "
              f"--jobs {args.jobs}: {fmt(f0['floor_wall'])} s; one empty notebook "
              f"{fmt(f0['floor_nb'], '.2f')} s (kernel start {fmt(f0['floor_kernel'], '.2f')} s, "
              f"HTML export and writing {fmt(f0['floor_export'], '.2f')} s); the report notebooks' "
              f"import lines in a kernel {fmt(f0['imports'], '.2f')} s.", ""]
    lines += ["## Phases of the CLI", "",
              "| dataset | " + " | ".join(["start + imports", *CLI_PHASES, "other"]) + " |",
              "|---|" + "---:|" * (len(CLI_PHASES) + 2)]
    for s in summaries:
        label = "sample" if s["size"] == "sample" else f"{s['size']:,}"
        known = sum(v for v in s["phases"].values() if v)
        other = None if s["cli_total"] is None else s["cli_total"] - known - (s["cli_imports"] or 0)
        cells = [fmt(s["cli_imports"], ".2f"), *[fmt(s["phases"].get(p), ".2f") for p in CLI_PHASES],
                 fmt(other, ".2f")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "## Phases of each notebook (seconds, medians)", "",
              "Setup cell = the imports and `open_report` (loading the data); imports alone: see the "
              "floor line above. Computation = every other cell. Export = HTML export, masking and "
              "writing (the manifest's notebook seconds minus papermill's).", ""]
    for s in summaries:
        label = "bundled sample" if s["size"] == "sample" else f"{s['size']:,} customers"
        lines += [f"### {label}", "", "| notebook | total | kernel start | setup cell | computation | export |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, row in s["nb"].items():
            lines.append(f"| {name} | " + " | ".join(fmt(row[k], ".1f") for k in
                         ("total", "kernel start", "setup cell", "computation", "export")) + " |")
        lines.append("")
    lines += ["## `import csm_kit`", "",
              f"Median of {args.import_repeat} runs of `python -c \"import csm_kit\"`: "
              f"{imports['wall']:.2f} s (bare interpreter {imports['python']:.2f} s). Largest "
              "imports by cumulative time (`python -X importtime`, top levels):", "",
              "| module | cumulative s |", "|---|---:|"]
    lines += [f"| {name} | {sec:.2f} |" for sec, _, name in imports["top"]]
    lines += ["", MARK.format(label=section, end="end")]
    return "\n".join(lines)


def write_results(text: str, path: Path, label: str | None) -> None:
    label = f" ({label})" if label else ""
    start, end = MARK.format(label=label, end="start"), MARK.format(label=label, end="end")
    old = path.read_text() if path.exists() else ""
    if start in old and end in old:
        before, rest = old.split(start, 1)
        after = rest.split(end, 1)[1]
        new = before + text + after
    else:
        new = old.rstrip("\n") + ("\n\n" if old else "") + text + "\n"
    path.write_text(new)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["sample"],
                        help="'sample' and/or numbers of customers, e.g. sample 100000 1000000")
    parser.add_argument("--repeat", type=int, default=3, help="rounds for the sample (median)")
    parser.add_argument("--repeat-large", type=int, default=1,
                        help="rounds for generated datasets (median)")
    parser.add_argument("--import-repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument("--no-write", action="store_true", help="print, do not write RESULTS.md")
    parser.add_argument("--label", help="names the section of RESULTS.md (e.g. 'baseline: main')")
    parser.add_argument("--probe-cli", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--probe-floor", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    if "--probe-cli" in argv:
        i = argv.index("--probe-cli")
        probe_cli(argv[argv.index("--") + 1:], Path(argv[i + 1]))
        return
    args = parser.parse_args(argv)
    if args.probe_floor:
        probe_floor(args)
        return
    sizes = [s if s == "sample" else int(s) for s in args.sizes]
    n_notebooks = len(list((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))
    data = {s: dataset_for(s, args.data_dir) for s in sizes}
    print("import csm_kit ...", flush=True)
    imports = import_time(args.import_repeat)
    print(f"  {imports['wall']:.2f} s", flush=True)
    summaries = []
    with tempfile.TemporaryDirectory(prefix="csm-report-bench-") as tmp:
        tmp = Path(tmp)
        empty = floor_notebooks(tmp / "floor", n_notebooks, imports=False)[0].parent
        with_imports = floor_notebooks(tmp / "floor_imports", 1, imports=True)[0].parent
        runs = {s: [] for s in sizes}
        floors, ifloors = [], []
        rounds = max(args.repeat, args.repeat_large if any(s != "sample" for s in sizes) else 0)
        for i in range(rounds):
            print(f"round {i + 1}/{rounds}: floor", flush=True)
            floors.append(run_floor(empty, args.jobs))
            ifloors.append(run_floor(with_imports, 1))
            print(f"  floor {floors[-1]['seconds']:.1f} s, imports notebook "
                  f"{ifloors[-1]['seconds']:.1f} s", flush=True)
            for s in sizes:
                if i >= (args.repeat if s == "sample" else args.repeat_large):
                    continue
                r = run_report(data[s], args.jobs, tmp)
                runs[s].append(r)
                print(f"  {s}: {r['wall']:.1f} s, exit {r['code']}, peak {r['peak_tree_gb']:.2f} GB"
                      f", failed {r['failed'] or '-'}", flush=True)
        for s in sizes:
            summaries.append(summarise(s, runs[s], floors, ifloors, args.jobs, n_notebooks))
    text = markdown(summaries, imports, args, n_notebooks)
    print(text)
    if not args.no_write:
        write_results(text, args.out, args.label)
        print(f"written to {args.out}")


if __name__ == "__main__":
    main()
