"""Time (and optionally profile) each heavy step of a report on one dataset, in one process.

    python benchmarks/profile_sections.py benchmarks/data/report_c100000 [--profile OUT.prof]

A companion to report.py for finding hotspots: the CLI's steps (load + validate, data quality,
health, KPIs, fingerprint, snapshot, exports) and the computations of each notebook, timed
one by one (wall seconds) with the peak RSS after each. No charts are drawn.
"""

from __future__ import annotations

import argparse
import cProfile
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import csm_kit as ck  # noqa: E402
from csm_kit.report.snapshot import write_snapshot  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?")
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--only", help="comma-separated step name prefixes")
    args = parser.parse_args()
    only = None if args.only is None else args.only.split(",")
    profiler = cProfile.Profile() if args.profile else None
    state = {}

    def step(name, func):
        if only and not any(name.startswith(o) for o in only) and name != "open_report":
            return None
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        value = func()
        seconds = time.perf_counter() - t0
        if profiler:
            profiler.disable()
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(f"{name:<40} {seconds:8.2f} s   peak RSS {rss:5.2f} GB", flush=True)
        return value

    ctx = step("open_report", lambda: ck.open_report(args.data))
    ds = ctx.dataset
    a, e = ctx.as_of, ctx.as_of_end
    step("cli: health", lambda: ctx.health)
    step("cli: kpis", lambda: ctx.kpis)
    step("cli: fingerprint", lambda: ds.fingerprint())
    with tempfile.TemporaryDirectory() as tmp:
        step("cli: snapshot", lambda: write_snapshot(ctx, Path(tmp)))
    h = ctx.health
    step("cli: at_risk_accounts", lambda: ck.at_risk_accounts(h, ds, as_of=a, top=len(h)))
    step("cli/05: csm_scorecard", lambda: ck.csm_scorecard(ds, as_of=a, health=h))
    subs, cust = ds.subscriptions, ds.customers
    step("00: mrr_summary", lambda: ck.mrr_summary(subs, as_of=a))
    step("00: logo_churn_rate", lambda: ck.logo_churn_rate(subs, as_of=a))
    step("01: churn by segment", lambda: ck.logo_churn_rate(subs, by="segment", customers=cust, as_of=a))
    step("01: cohort_retention x2", lambda: (ck.cohort_retention(subs, kind="logo", as_of=a),
                                              ck.cohort_retention(subs, kind="revenue", as_of=a)))
    step("01: cohort_table", lambda: ck.cohort_table(subs, kind="logo", as_of=a))
    step("01: survival_curve", lambda: ck.survival_curve(subs, by="segment", customers=cust, as_of=a))
    step("01: logrank_test", lambda: ck.logrank_test(subs, by="segment", customers=cust, as_of=a))
    step("02: mrr_bridge", lambda: ck.mrr_bridge(subs, as_of=a))
    step("02: nrr+grr", lambda: (ck.net_revenue_retention(subs, window_months=12, as_of=a),
                                 ck.gross_revenue_retention(subs, window_months=12, as_of=a)))
    step("02: mrr churn + quick ratio", lambda: (ck.gross_mrr_churn(subs, as_of=a),
                                                 ck.net_mrr_churn(subs, as_of=a), ck.quick_ratio(subs, as_of=a)))
    step("02: expansion x2", lambda: (ck.expansion_mrr(subs, customers=cust, by="csm", as_of=a),
                                      ck.expansion_mrr(subs, customers=cust, by="segment", as_of=a)))
    step("02: ltv x3", lambda: [ck.lifetime_value(subs, method=m, as_of=a)
                                for m in ("simple", "smoothed", "survival")])
    sv = ds.surveys
    if sv is not None:
        step("03: nps+categories+csat+ces", lambda: (ck.nps(sv, as_of=a), ck.nps_categories(sv, as_of=a),
                                                    ck.csat(sv, as_of=a), ck.ces(sv, as_of=a)))
        step("03: churn_by_nps_category", lambda: ck.churn_by_nps_category(sv, subs, as_of=a))
        step("03: nps by csm, csat by agent", lambda: (
            ck.nps(sv, freq="Q", by="csm", customers=cust, as_of=a),
            ck.csat(sv, freq="Q", by="agent", as_of=a)))
    step("04: distress_scores", lambda: ck.distress_scores(ds, as_of=e))
    step("04: backtest", lambda: ck.backtest(ds))
    tx = ds.transactions
    if tx is not None:
        step("06: repeat/frequency/aov", lambda: (ck.repeat_purchase_rate(tx), ck.purchase_frequency(tx),
                                                 ck.average_order_value(tx)))
        step("06: purchase cohorts", lambda: ck.cohort_retention(tx, kind="logo", as_of=a))
    if profiler:
        profiler.dump_stats(str(args.profile))
    del state


if __name__ == "__main__":
    main()
