"""The KPI registry's checks and the judging rules (direction, min_n, n_noun) it hands out.

Pins what the mutation run (issue #17) found unpinned: the messages of the registry's
``area`` / ``unit`` checks and of ``kpi_directions``, the fallback of ``kpi_rules`` to each
KPI's own direction, and the ``n_noun`` key. The expected rules are read off the KPIS entries
in csm_kit/kpis.py by hand (e.g. average_order_value: direction=_UP, n_noun="orders").
"""

from __future__ import annotations

import re

import pytest

from csm_kit.errors import ConfigError
from csm_kit.kpis import Kpi, kpi_directions, kpi_rules


def new_kpi(**overrides):
    fields = {"unit": "share", "direction": "higher_is_better", "area": "retention"}
    fields.update(overrides)
    return Kpi("new_metric", "New", fields.pop("unit"), ("subscriptions",),
               lambda ds, **_: None, "rate", **fields)


@pytest.mark.parametrize(("field", "bad", "allowed"), [
    ("area", "sales", ("revenue", "retention", "satisfaction", "support", "renewals", "health",
                       "purchases", "growth")),
    ("unit", "percent", ("share", "money", "ratio", "points", "score", "count", "hours")),
])
def test_a_kpi_in_an_unknown_area_or_unit_is_refused_with_the_ones_it_may_use(field, bad,
                                                                              allowed):
    with pytest.raises(ConfigError) as raised:
        new_kpi(**{field: bad})
    message = str(raised.value)
    assert message.startswith(f"KPI 'new_metric': `{field}` must be one of [")
    assert message.endswith(f"], got '{bad}'")
    for value in allowed:
        assert f"'{value}'" in message


def test_a_ces_direction_other_than_low_or_high_is_refused_naming_both_choices():
    with pytest.raises(ConfigError, match=re.escape(
            "`ces_low_effort_is` must be one of ['high', 'low'], got 'medium'")):
        kpi_directions(ces_low_effort_is="medium")


def test_kpi_rules_fall_back_to_each_kpis_own_direction_when_not_given_one():
    # Only CES is given (turned around); every other KPI keeps the registry's direction:
    # mrr and nps up, logo churn and hours to close down.
    rules = kpi_rules({"ces": "higher_is_better"})
    assert rules["ces"]["direction"] == "higher_is_better"
    assert rules["mrr"]["direction"] == "higher_is_better"
    assert rules["nps"]["direction"] == "higher_is_better"
    assert rules["logo_churn_rate"]["direction"] == "lower_is_better"
    assert rules["median_hours_to_close"]["direction"] == "lower_is_better"


def test_kpi_rules_give_direction_min_n_and_what_n_counts():
    # From the registry: AOV (up, no minimum, counts orders); NPS (up, the small-sample 30,
    # counts responses); logo renewal rate (up, no minimum, counts contracts due); CES (down
    # on the default scale, 30 responses).
    rules = kpi_rules()
    assert rules["average_order_value"] == {"direction": "higher_is_better", "min_n": 0,
                                            "n_noun": "orders"}
    assert rules["nps"] == {"direction": "higher_is_better", "min_n": 30, "n_noun": "responses"}
    assert rules["logo_renewal_rate"] == {"direction": "higher_is_better", "min_n": 0,
                                          "n_noun": "contracts due"}
    assert rules["ces"] == {"direction": "lower_is_better", "min_n": 30, "n_noun": "responses"}
    assert rules["mrr"]["n_noun"] == "customers"
