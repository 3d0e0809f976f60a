"""A realistic, seeded sample dataset: :func:`generate_sample` builds it, :func:`write_sample` saves it.

:mod:`~csm_kit.sample.generator` assembles the tables; the simulation behind them is split by
what it simulates: :mod:`~csm_kit.sample.world` (customers, segments, CSMs, churn hazards),
:mod:`~csm_kit.sample.calendar`, :mod:`~csm_kit.sample.revenue` (subscriptions and MRR),
:mod:`~csm_kit.sample.billing`, :mod:`~csm_kit.sample.activity` (tickets, usage),
:mod:`~csm_kit.sample.surveys`, :mod:`~csm_kit.sample.funnel` (trials, referrals, events),
:mod:`~csm_kit.sample.columns` and :mod:`~csm_kit.sample.text` (ids, dates, names, comments).
Depends only on the shared base; nothing but the data layer's ``load_sample`` imports it.
"""

from csm_kit.sample.generator import TABLES, generate_sample, write_sample

__all__ = ["TABLES", "generate_sample", "write_sample"]
