"""Customer health: signals per account, the configurable score, and the backtest that checks it.

- :mod:`~csm_kit.health.signals` — one row per customer of raw signals (adoption, NPS, tickets...);
- :mod:`~csm_kit.health.config` — the YAML health/distress configuration and its validation;
- :mod:`~csm_kit.health.scores` — weighted 0–100 scores, bands and the weakest component;
- :mod:`~csm_kit.health.backtest` — scores rebuilt at past dates against later churn.

Builds on the metric modules and the data layer; the KPI registry and reports build on it.
"""
