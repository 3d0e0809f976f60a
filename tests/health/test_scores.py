"""Health and distress scores: mapping, weights, missing data, bands, config validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.data.loading import Dataset
from csm_kit.errors import ConfigError
from csm_kit.health.scores import (
    BANDS,
    HealthConfig,
    MissingSignalError,
    distress_scores,
    health_scores,
    labels,
    load_distress_config,
    load_health_config,
    score_signals,
)
from csm_kit.health.signals import SIGNALS


def linear(signal, low, high, direction="higher_is_better", weight=1.0):
    return {"signal": signal, "method": "linear", "low": low, "high": high,
            "direction": direction, "weight": weight}


def thresholds(signal, pairs, direction="higher_is_better", weight=1.0):
    return {"signal": signal, "method": "thresholds", "thresholds": pairs,
            "direction": direction, "weight": weight}


def one_component(spec) -> HealthConfig:
    return load_health_config({"components": {"c": spec}})


def component_scores(spec, values) -> list[float]:
    return one_component(spec).components[0].score(values).tolist()


THREE = {  # weights 0.5 / 0.3 / 0.2; every signal maps linearly 0 -> 0, 100 -> 100
    "adoption": linear("adoption", 0, 100, weight=0.5),
    "nps": linear("nps_latest", 0, 100, weight=0.3),
    "csat": linear("csat_recent", 0, 100, weight=0.2),
}


def signals(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], **columns})


# --------------------------------------------------------------------------- mapping to 0-100


def test_linear_higher_is_better_is_0_at_low_and_100_at_high():
    # low 0.2, high 0.8: 0.5 is halfway -> 50; outside the range clamps
    assert component_scores(linear("adoption", 0.2, 0.8), [0.1, 0.2, 0.5, 0.8, 0.9]) == \
        pytest.approx([0, 0, 50, 100, 100])


def test_linear_lower_is_better_is_the_mirror_image():
    # low 0, high 10: 0 tickets -> 100, 2.5 -> 75, 10 or more -> 0
    assert component_scores(linear("tickets_90d", 0, 10, "lower_is_better"),
                            [0, 2.5, 10, 12]) == pytest.approx([100, 75, 0, 0])


def test_thresholds_give_the_score_of_the_highest_threshold_reached():
    # NPS categories: detractor 0-6 -> 0, passive 7-8 -> 50, promoter 9-10 -> 100
    spec = thresholds("nps_latest", [[0, 0], [7, 50], [9, 100]])
    assert component_scores(spec, [6, 7, 8.9, 9, 10]) == [0, 50, 50, 100, 100]


def test_thresholds_below_the_first_value_take_the_first_score():
    spec = thresholds("mrr_trend_3m", [[-0.1, 20], [0, 100]])
    assert component_scores(spec, [-0.5, -0.1, 0.2]) == [20, 20, 100]


def test_thresholds_lower_is_better_have_falling_scores():
    # 0 old tickets -> 100, 1-2 -> 60, 3 or more -> 0
    spec = thresholds("tickets_open_over_7d", [[0, 100], [1, 60], [3, 0]], "lower_is_better")
    assert component_scores(spec, [0, 1, 2, 3, 7]) == [100, 60, 60, 0, 0]


def test_a_missing_signal_has_a_missing_component_score():
    assert np.isnan(component_scores(linear("adoption", 0, 1), [np.nan])[0])
    assert np.isnan(component_scores(thresholds("nps_latest", [[0, 0], [9, 100]]), [np.nan])[0])


# --------------------------------------------------------------------------- weights


def test_score_is_the_weighted_mean_of_component_scores():
    # 0.5*80 + 0.3*50 + 0.2*20 = 40 + 15 + 4 = 59
    cfg = load_health_config({"components": THREE})
    out = score_signals(signals(adoption=[80], nps_latest=[50], csat_recent=[20]), config=cfg)
    assert out["score"].iloc[0] == pytest.approx(59)
    assert out[["adoption_score", "nps_score", "csat_score"]].iloc[0].tolist() == [80, 50, 20]


def test_weights_need_not_sum_to_one():
    # 5/3/2 is the same as 0.5/0.3/0.2
    comps = {name: {**spec, "weight": spec["weight"] * 10} for name, spec in THREE.items()}
    out = score_signals(signals(adoption=[80], nps_latest=[50], csat_recent=[20]),
                        config=load_health_config({"components": comps}))
    assert out["score"].iloc[0] == pytest.approx(59)


def test_missing_component_weight_is_redistributed_to_the_others():
    # csat missing: weights 0.5/0.3 become 0.625/0.375 -> 0.625*80 + 0.375*40 = 50 + 15 = 65
    cfg = load_health_config({"components": THREE})
    out = score_signals(signals(adoption=[80], nps_latest=[40], csat_recent=[np.nan]), config=cfg)
    assert out["score"].iloc[0] == pytest.approx(65)
    assert out["components_used"].iloc[0] == 2


def test_missing_zero_scores_the_missing_component_as_zero():
    # csat counts as 0: 0.5*80 + 0.3*40 + 0.2*0 = 52
    cfg = load_health_config({"components": THREE, "missing": "zero"})
    out = score_signals(signals(adoption=[80], nps_latest=[40], csat_recent=[np.nan]), config=cfg)
    assert out["score"].iloc[0] == pytest.approx(52)
    assert out["csat_score"].iloc[0] == 0
    assert out["components_used"].iloc[0] == 3


def test_missing_fail_raises_naming_the_signal_and_a_customer():
    cfg = load_health_config({"components": THREE, "missing": "fail"})
    with pytest.raises(MissingSignalError, match=r"1 customers have no csat_recent .* customer c1"):
        score_signals(signals(adoption=[80, 80], nps_latest=[40, 40],
                              csat_recent=[10, np.nan]), config=cfg)


def test_a_customer_without_any_signal_has_no_score_band_or_weakest_component():
    cfg = load_health_config({"components": THREE})
    out = score_signals(signals(adoption=[np.nan], nps_latest=[np.nan], csat_recent=[np.nan]),
                        config=cfg)
    row = out.iloc[0]
    assert np.isnan(row["score"]) and pd.isna(row["band"]) and pd.isna(row["weakest_component"])
    assert row["components_used"] == 0


def test_segment_weights_override_the_components_they_name():
    # Enterprise: adoption 0.2 (csat, nps keep 0.2, 0.3) -> (0.2*100 + 0.3*0 + 0.2*0) / 0.7
    # SMB (no own weights) and a missing segment use the defaults: 0.5*100 = 50
    cfg = load_health_config({"components": THREE,
                              "segment_weights": {"Enterprise": {"adoption": 0.2}}})
    sig = signals(adoption=[100] * 3, nps_latest=[0] * 3, csat_recent=[0] * 3)
    sig["segment"] = pd.array(["Enterprise", "SMB", None], dtype="str")
    assert score_signals(sig, config=cfg)["score"].tolist() == pytest.approx([20 / 0.7, 50, 50])


def test_a_zero_segment_weight_leaves_the_component_out_for_that_segment():
    # SMB ignores nps: (0.5*100 + 0.2*0) / 0.7
    cfg = load_health_config({"components": THREE, "segment_weights": {"SMB": {"nps": 0}}})
    sig = signals(adoption=[100], nps_latest=[0], csat_recent=[0]).assign(segment="SMB")
    out = score_signals(sig, config=cfg)
    assert out["score"].iloc[0] == pytest.approx(50 / 0.7)
    assert out["components_used"].iloc[0] == 2


# --------------------------------------------------------------------------- bands, weakest


def test_health_bands_are_red_below_40_yellow_below_70_green_from_70():
    cfg = load_health_config({"components": {"a": linear("adoption", 0, 100)}})
    out = score_signals(signals(adoption=[39.99, 40, 69.99, 70, 100]), config=cfg)
    assert out["band"].tolist() == ["red", "yellow", "yellow", "green", "green"]


def test_distress_bands_read_upwards():
    # kind distress, default bands yellow 30, red 60: 29.99 green, 30 yellow, 60 red
    cfg = load_health_config({"kind": "distress", "components": {
        "pain": linear("tickets_90d", 0, 100, "lower_is_better")}})
    out = score_signals(signals(tickets_90d=[29.99, 30, 59.99, 60]), config=cfg)
    assert out["band"].tolist() == ["green", "yellow", "yellow", "red"]


def test_weakest_component_has_the_largest_weighted_shortfall():
    # shortfalls: adoption 0.5*(100-70)=15, nps 0.3*(100-40)=18, csat 0.2*(100-0)=20 -> csat
    # second customer: 0.5*40=20, 0.3*50=15, 0.2*50=10 -> adoption, although csat scores lower
    cfg = load_health_config({"components": THREE})
    out = score_signals(signals(adoption=[70, 60], nps_latest=[40, 50], csat_recent=[0, 50]),
                        config=cfg)
    assert out["weakest_component"].tolist() == ["csat", "adoption"]


def test_weakest_component_tie_goes_to_the_component_listed_first():
    # adoption 0.5*(100-60)=20, csat 0.2*(100-0)=20: adoption is listed first
    cfg = load_health_config({"components": THREE})
    out = score_signals(signals(adoption=[60], nps_latest=[100], csat_recent=[0]), config=cfg)
    assert out["weakest_component"].iloc[0] == "adoption"


def test_a_perfect_customer_has_no_weakest_component():
    cfg = load_health_config({"components": THREE})
    out = score_signals(signals(adoption=[100], nps_latest=[100], csat_recent=[100]), config=cfg)
    assert pd.isna(out["weakest_component"].iloc[0])


def test_distress_component_scores_are_pains_and_the_score_is_their_weighted_mean():
    # open tickets: 2 -> health-style 40 -> pain 60; volume 5 of 0..10 -> pain 50
    # distress = 0.5*60 + 0.5*50 = 55; open tickets add the most (30 points)
    cfg = load_health_config({"kind": "distress", "components": {
        "open": thresholds("tickets_open_over_7d", [[0, 100], [1, 70], [2, 40], [3, 0]],
                           "lower_is_better"),
        "volume": linear("tickets_90d", 0, 10, "lower_is_better")}})
    out = score_signals(signals(tickets_open_over_7d=[2], tickets_90d=[5]), config=cfg)
    assert out[["open_score", "volume_score", "score"]].iloc[0].tolist() == [60, 50, 55]
    assert out["band"].iloc[0] == "yellow"
    assert out["weakest_component"].iloc[0] == "open"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(*[st.one_of(st.none(), st.floats(0, 100))] * 3), min_size=1,
                max_size=8))
def test_score_lies_between_the_lowest_and_highest_used_component(rows):
    cfg = load_health_config({"components": THREE})
    values = np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=float)
    out = score_signals(signals(adoption=values[:, 0], nps_latest=values[:, 1],
                                csat_recent=values[:, 2]), config=cfg)
    low, high = np.nanmin(values, axis=1, initial=np.inf), np.nanmax(values, axis=1, initial=-np.inf)
    scored = ~np.isnan(values).all(axis=1)
    assert (out["score"].to_numpy()[scored] >= low[scored] - 1e-9).all()
    assert (out["score"].to_numpy()[scored] <= high[scored] + 1e-9).all()
    assert out["score"].isna().to_numpy().tolist() == (~scored).tolist()
    reversed_out = score_signals(signals(adoption=values[::-1, 0], nps_latest=values[::-1, 1],
                                         csat_recent=values[::-1, 2]), config=cfg)
    assert np.allclose(reversed_out["score"].to_numpy()[::-1], out["score"], equal_nan=True)


# --------------------------------------------------------------------------- configuration


def test_packaged_health_config_loads_with_documented_bands():
    cfg = load_health_config()
    assert cfg.kind == "health" and cfg.missing == "redistribute"
    assert cfg.bands == {"red": 55, "yellow": 70}
    assert {c.signal for c in cfg.components} <= set(SIGNALS)
    assert cfg.onboarding is not None and cfg.onboarding_days == 90


def test_packaged_distress_config_is_a_distress_config():
    cfg = load_distress_config()
    assert cfg.kind == "distress"
    assert cfg.bands["yellow"] < cfg.bands["red"]
    assert "tickets_open_over_7d" in {c.signal for c in cfg.components}


def test_config_reads_a_yaml_file(tmp_path):
    path = tmp_path / "health.yaml"
    path.write_text("components:\n  a: {signal: adoption, method: linear, low: 0, high: 1,\n"
                    "      direction: higher_is_better, weight: 1}\nbands: {red: 30, yellow: 60}\n")
    assert load_health_config(path).bands == {"red": 30, "yellow": 60}


@pytest.mark.parametrize("change, message", [
    ({"direction": "up"},
     "`direction` must be one of ['higher_is_better', 'lower_is_better'], got 'up'"),
    ({"method": "log"}, "`method` must be one of ['linear', 'thresholds'], got 'log'"),
    ({"signal": "happiness"}, "`signal` must be one of ['adoption', "),
    ({"low": 0.8, "high": 0.2}, "`low` must be below `high`"),
    ({"weight": -1}, "`weight` must be a number >= 0, got -1"),
    ({"weight": "high"}, "`weight` must be a number, got 'high'"),
    ({"wieght": 1}, "unknown keys ['wieght']"),
    ({"thresholds": [[0, 0]]}, "['thresholds'] do not apply to method linear"),
])
def test_component_errors_name_the_component_and_key(change, message):
    spec = {**linear("adoption", 0.2, 0.8), **change}
    with pytest.raises(ConfigError, match="component 'a'") as err:
        load_health_config({"components": {"a": spec}})
    assert message in str(err.value)


@pytest.mark.parametrize("pairs, direction, message", [
    ([[0, 0], [0, 50]], "higher_is_better", "threshold values must increase"),
    ([[0, 100], [5, 50]], "higher_is_better", "scores must rise"),
    ([[0, 0], [5, 50]], "lower_is_better", "scores must fall"),
    ([[0, 0], [5, 150]], "higher_is_better", "must lie in 0–100"),
    ([[0, 0, 1]], "higher_is_better", "list of \\[value, score\\] pairs"),
])
def test_threshold_errors(pairs, direction, message):
    with pytest.raises(ConfigError, match=message):
        one_component(thresholds("nps_latest", pairs, direction))


@pytest.mark.parametrize("extra, message", [
    ({"missing": "impute"}, "`missing` must be one of \\['redistribute', 'zero', 'fail'\\]"),
    ({"kind": "happiness"}, "`kind` must be one of \\['health', 'distress'\\]"),
    ({"bands": {"red": 70, "yellow": 40}}, "red <= yellow"),
    ({"bands": {"red": 40}}, "exactly the keys red and yellow"),
    ({"kind": "distress", "bands": {"red": 30, "yellow": 60}}, "yellow <= red"),
    ({"segment_weights": {"SMB": {"nsp": 1}}}, "SMB names unknown components \\['nsp'\\]"),
    ({"segment_weights": {"SMB": {"a": 0}}}, "the weights of SMB are all 0"),
    ({"colour": "red"}, "unknown keys \\['colour'\\]"),
])
def test_config_errors(extra, message):
    with pytest.raises(ConfigError, match=message):
        load_health_config({"components": {"a": linear("adoption", 0, 1)}, **extra})


def test_config_without_components_is_an_error():
    with pytest.raises(ConfigError, match="`components` must map component names"):
        load_health_config({"bands": {"red": 40, "yellow": 70}})


def test_missing_config_file_and_bad_yaml_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_health_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("components: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_health_config(bad)


def test_distress_loader_rejects_a_health_config():
    with pytest.raises(ConfigError, match="needs `kind: distress`"):
        load_distress_config({"components": {"a": linear("adoption", 0, 1)}})


# --------------------------------------------------------------------------- on a dataset


def nps_dataset() -> Dataset:
    """One customer: NPS 10 in January, 2 on 15 March; a second one without any answer."""
    return Dataset(
        customers=pd.DataFrame({"customer_id": ["a", "b"], "segment": ["SMB", "SMB"],
                                "signup_date": pd.to_datetime(["2023-06-01"] * 2)}),
        subscriptions=pd.DataFrame({"customer_id": ["a", "b"], "mrr": [100.0, 50.0],
                                    "start_date": pd.to_datetime(["2023-06-01"] * 2),
                                    "end_date": pd.to_datetime([None, None])}),
        surveys=pd.DataFrame({"customer_id": ["a", "a"], "survey": ["nps", "nps"],
                              "date": pd.to_datetime(["2024-01-10", "2024-03-15"]),
                              "score": [10.0, 2.0]}),
    )


NPS_ONLY = {"components": {"nps": thresholds("nps_latest", [[0, 0], [7, 50], [9, 100]])}}


def test_health_scores_show_the_change_since_last_month_end():
    # end of February: NPS 10 -> 100; end of March: NPS 2 -> 0; change -100
    out = health_scores(nps_dataset(), as_of="2024-03-31", config=NPS_ONLY)
    a = out.set_index("customer_id").loc["a"]
    assert (a["score"], a["score_last_month"], a["change"], a["band"]) == (0, 100, -100, "red")
    assert list(out.columns[:6]) == ["customer_id", "segment", "score", "band",
                                     "score_last_month", "change"]
    assert np.isnan(out.set_index("customer_id").loc["b", "score"])


def test_distress_scores_reject_a_health_config():
    with pytest.raises(ConfigError, match="needs `kind: distress`"):
        distress_scores(nps_dataset(), as_of="2024-03-31", config=NPS_ONLY)
    with pytest.raises(ConfigError, match="use health_scores for a health configuration"):
        distress_scores(nps_dataset(), as_of="2024-03-31", config=load_health_config(NPS_ONLY))


def test_default_configs_score_a_dataset_with_only_customers_and_surveys():
    # no subscriptions: every signed-up customer is scored; only NPS exists, the other
    # components are missing and their weight is redistributed to NPS
    ds = nps_dataset()
    ds.subscriptions = None
    health = health_scores(ds, as_of="2024-03-31").set_index("customer_id")
    assert health.loc["a", ["score", "components_used", "weakest_component"]].tolist() == \
        [0, 1, "nps"]
    assert np.isnan(health.loc["b", "score"])
    assert distress_scores(ds, as_of="2024-03-31")["score"].isna().all()


# --------------------------------------------------------------------------- onboarding profile

ONBOARDING = {
    "components": {"adoption": linear("adoption", 0, 1, weight=0.5),
                   "nps": linear("nps_latest", 0, 10, weight=0.5)},
    "onboarding": {"tenure_days": 90, "components": {
        "ramp": thresholds("adoption", [[0, 60], [0.5, 100]], weight=1.0),
        "nps": linear("nps_latest", 0, 10, weight=1.0)}},
    "bands": {"red": 55, "yellow": 70},
}


def test_customers_younger_than_the_tenure_are_scored_with_the_onboarding_profile():
    # a: 30 days old, adoption 0.1 -> ramp 60 (the floor), NPS 4 -> 40: (60 + 40) / 2 = 50;
    # b: 89 days, adoption 0.6 -> ramp 100, no NPS -> 100;
    # c: 90 days (not younger): adoption 0.1 -> 10, NPS 4 -> 40 -> 25
    sig = signals(adoption=[0.1, 0.6, 0.1], nps_latest=[4, None, 4], tenure_days=[30, 89, 90])
    out = score_signals(sig, config=load_health_config(ONBOARDING))
    assert out["profile"].tolist() == ["onboarding", "onboarding", "established"]
    assert out["score"].tolist() == pytest.approx([50, 100, 25])
    assert out["band"].tolist() == ["red", "green", "red"]
    # the onboarding-only component is NaN for established customers and vice versa
    assert np.isnan(out.loc[2, "ramp_score"]) and np.isnan(out.loc[0, "adoption_score"])
    assert out["weakest_component"].fillna("none").tolist() == ["nps", "none", "adoption"]


def test_without_tenure_everyone_gets_the_main_profile():
    out = score_signals(signals(adoption=[0.1], nps_latest=[4.0]),
                        config=load_health_config(ONBOARDING))
    assert out["profile"].tolist() == ["established"] and out["score"].tolist() == [25]


@settings(max_examples=60, deadline=None)
@given(st.floats(0, 1), st.one_of(st.none(), st.floats(0, 1)), st.integers(0, 89),
       st.integers(0, 29), st.one_of(st.none(), st.integers(9, 10)))
def test_a_new_account_is_never_red_on_adoption_alone_with_the_packaged_config(
        adoption, key_feature, tenure, days_since_touch, nps):
    # packaged health.yaml: a customer younger than 90 days whose other components are fine
    # (touched in the last month, no open tickets, a promoter or no answer) is never red,
    # however low its adoption and key-feature use
    sig = pd.DataFrame({"customer_id": ["x"], "segment": ["SMB"], "adoption": [adoption],
                        "key_feature_adoption": [key_feature], "nps_latest": [nps],
                        "csat_recent": [None], "tickets_open_over_7d": [0.0],
                        "mrr_trend_3m": [None], "days_to_renewal": [None],
                        "days_since_touch": [float(days_since_touch)],
                        "tenure_days": [float(tenure)]}).astype({"nps_latest": "float64",
                                                                 "csat_recent": "float64",
                                                                 "key_feature_adoption": "float64",
                                                                 "mrr_trend_3m": "float64",
                                                                 "days_to_renewal": "float64"})
    out = score_signals(sig, config=load_health_config()).iloc[0]
    assert out["profile"] == "onboarding" and out["band"] != "red"


def test_onboarding_settings_are_checked():
    with pytest.raises(ConfigError, match="`tenure_days` must be a whole number of days >= 1"):
        load_health_config({**ONBOARDING, "onboarding": {**ONBOARDING["onboarding"],
                                                         "tenure_days": 0}})
    with pytest.raises(ConfigError, match=r"onboarding: unknown keys \['bands'\]"):
        load_health_config({**ONBOARDING, "onboarding": {**ONBOARDING["onboarding"],
                                                         "bands": {"red": 1, "yellow": 2}}})
    with pytest.raises(ConfigError, match="onboarding, component 'ramp': `signal` must be"):
        load_health_config({**ONBOARDING, "onboarding": {"components": {
            "ramp": thresholds("logins", [[0, 60]])}}})


def test_with_bands_changes_both_profiles():
    cfg = load_health_config(ONBOARDING).with_bands({"red": 30, "yellow": 30})
    assert cfg.bands == cfg.onboarding.bands == {"red": 30, "yellow": 30}


# --------------------------------------------------------------------------- declared signals


def test_a_component_can_read_a_declared_signal():
    cfg = load_health_config({
        "signals": {"logins": {"table": "usage", "column": "logins", "how": "mean_3m"}},
        "components": {"logins": linear("logins", 0, 100)}})
    assert cfg.signals["logins"].how == "mean_3m" and cfg.signal_names == ["logins"]
    out = score_signals(signals(logins=[25.0, 150.0]), config=cfg)
    assert out["score"].tolist() == [25, 100]


@pytest.mark.parametrize("declared, message", [
    ({"adoption": {"table": "usage", "column": "x"}}, "the name is a built-in signal"),
    ({"x": {"table": "tickets", "column": "y"}}, r"`table` must be one of \['customers', 'usage'\]"),
    ({"x": {"table": "customers", "column": "y", "how": "mean_3m"}}, "needs a customer-month table"),
    ({"x": {"table": "usage"}}, "settings must be a dictionary with table and column"),
    ({"x": {"table": "usage", "column": "y", "sum": 1}}, r"unknown keys \['sum'\]"),
])
def test_declared_signals_are_checked(declared, message):
    with pytest.raises(ConfigError, match=message):
        load_health_config({"signals": declared,
                            "components": {"a": linear("adoption", 0, 1)}})


# --------------------------------------------------------------------------- close time


def test_three_tickets_closed_after_10_to_14_days_make_distress_at_least_yellow():
    # the source document's example (TeamSupport's distress): three tickets in the last 90
    # days, each closed 10, 12 and 14 days after opening. Packaged distress.yaml: open
    # tickets pain 0; volume 3 of 1-10, pain 22.2; repeat contacts 0; slow tickets three or
    # more, pain 100; median days to close 12 (>= 7), pain 100; no CSAT so the weights count
    # out of 0.80: (0.15 * 22.2 + 0.15 * 100 + 0.15 * 100) / 0.80 = 41.7 -> yellow (>= 30).
    # Before close time was a signal the same account scored 5.6, green.
    ds = Dataset(
        customers=pd.DataFrame({"customer_id": ["a"], "signup_date": pd.Timestamp("2023-01-01")}),
        tickets=pd.DataFrame({
            "customer_id": ["a"] * 3, "contacts": [1, 1, 1],
            "opened_at": pd.to_datetime(["2024-01-10", "2024-02-01", "2024-03-01"]),
            "closed_at": pd.to_datetime(["2024-01-20", "2024-02-13", "2024-03-15"])}))
    out = distress_scores(ds, as_of="2024-03-31").iloc[0]
    assert out["score"] == pytest.approx((0.15 * 200 / 9 + 0.15 * 100 + 0.15 * 100) / 0.80)
    assert out["band"] in ("yellow", "red")


# --------------------------------------------------------------------------- mutation survivors


def test_distress_scores_on_a_health_config_says_what_it_needs_and_what_it_got():
    # The message opens with the function and the kind it needs, then names the kind found.
    with pytest.raises(ConfigError, match=r"^distress_scores needs `kind: distress` in its "
                                          r"configuration, got 'health'; use health_scores"):
        distress_scores(nps_dataset(), as_of="2024-03-31", config=load_health_config(NPS_ONLY))


@given(st.lists(st.integers(-1, 4), max_size=40), st.sampled_from([["red", "yellow", "green"],
                                                                    ["adoption", "nps", "tickets",
                                                                     "csat", "mrr"]]))
def test_labels_built_by_arrow_are_the_names_python_would_pick(codes, names):
    codes = np.array([c % len(names) if c >= 0 else -1 for c in codes], dtype=int)
    expected = pd.array([names[c] if c >= 0 else None for c in codes], dtype="str")
    got = labels(codes, names)
    pd.testing.assert_extension_array_equal(got, expected)


@given(st.lists(st.one_of(st.floats(-10, 110), st.just(float("nan"))), max_size=40),
       st.sampled_from(["health", "distress"]))
def test_band_codes_and_bands_follow_the_cut_offs(scores, kind):
    # health: below red's cut-off is red, below yellow's yellow; distress (pain): at or above
    config = load_health_config() if kind == "health" else load_distress_config()
    red, yellow = config.bands["red"], config.bands["yellow"]

    def by_hand(s):
        if np.isnan(s):
            return None
        if kind == "health":
            return "red" if s < red else "yellow" if s < yellow else "green"
        return "red" if s >= red else "yellow" if s >= yellow else "green"

    expected = [by_hand(s) for s in scores]
    assert list(config.band(scores)) == expected
    assert [None if c < 0 else BANDS[c] for c in config.band_codes(scores)] == expected
