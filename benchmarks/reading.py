"""How much reading real exports costs: csm-kit's CSV reader against plain pandas.

    python benchmarks/reading.py [--rows 200000]

Writes a Stripe-like subscriptions export of ``--rows`` rows three ways (clean UTF-8 with ISO
dates and plain numbers; cp1252 with `;`, decimal commas and day-first dates; the same with
a title line) and times, for each, ``read_csv_file`` + the value tidying the loader applies
(``tidy_canonical``) against a floor of ``pandas.read_csv(dtype=str)`` on the clean file.
Prints medians of 3 runs and the ratio to the floor. Nothing is asserted: speed is measured.
The amounts are all different (the worst case: money text is rewritten once per distinct
value, so real exports, which repeat their prices and dates, read faster).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.contract import TABLES
from csm_kit.data.readers import read_csv_file
from csm_kit.data.values import tidy_canonical


def export(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), unit="D")
    return pd.DataFrame({
        "subscription_id": [f"sub_{i:07d}" for i in range(rows)],
        "customer_id": [f"cus_{i % (rows // 2 + 1):07d}" for i in range(rows)],
        "start_date": start, "mrr": rng.integers(1000, 2_000_000, rows) / 100,
        "plan": rng.choice(["Basic", "Pro", "Team"], rows),
    })


def timed(func, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    frame = export(rows)
    spec = TABLES["subscriptions"]
    with tempfile.TemporaryDirectory() as tmp:
        clean = Path(tmp) / "clean.csv"
        frame.assign(start_date=frame["start_date"].dt.strftime("%Y-%m-%d")).to_csv(clean, index=False)
        european = Path(tmp) / "european.csv"
        frame.assign(start_date=frame["start_date"].dt.strftime("%d/%m/%Y"),
                     mrr=frame["mrr"].map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","))
                     ).to_csv(european, index=False, sep=";", encoding="cp1252")
        titled = Path(tmp) / "titled.csv"
        titled.write_bytes(b"Subscriptions export\r\n\r\n" + european.read_bytes())

        floor = timed(lambda: pd.read_csv(clean, dtype=str, keep_default_na=False, na_values=[""]))
        print(f"{rows:,} rows; floor pandas.read_csv(dtype=str) on the clean file: {floor:.2f} s")
        for name, path in (("clean UTF-8", clean), ("cp1252 ; decimal comma, d/m/Y", european),
                           ("the same under a title line", titled)):
            seconds = timed(lambda p=path: tidy_canonical(read_csv_file(p), spec))
            print(f"  {name:32s} {seconds:6.2f} s  = {seconds / floor:4.1f}× the floor")


if __name__ == "__main__":
    main()
