"""Customer health: signals per account, the configurable score, and the backtest that checks it.

- :mod:`~csm_kit.health.signals` — one row per customer of raw signals (adoption, NPS, tickets...);
- :mod:`~csm_kit.health.declared` — signals a company declares from its own numeric columns;
- :mod:`~csm_kit.health.config` — the YAML health/distress configuration (with its onboarding
  profile) and its validation;
- :mod:`~csm_kit.health.scores` — weighted 0–100 scores, bands and the weakest component;
- :mod:`~csm_kit.health.backtest` — scores rebuilt at past dates against later churn;
- :mod:`~csm_kit.health.bands` — band cut-offs read from that history;
- :mod:`~csm_kit.health.probability` — calibrated churn probability and expected MRR at risk;
- :mod:`~csm_kit.health.playbook`, :mod:`~csm_kit.health.actions` — the rules and the action
  list (who to call this week, and why);
- :mod:`~csm_kit.health.forecast` — the renewal forecast and its backtest.

Builds on the metric modules and the data layer; the KPI registry and reports build on it.
"""
