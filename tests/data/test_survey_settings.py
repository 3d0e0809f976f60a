"""Survey settings: scales, the satisfied threshold and CES direction, set once and carried by the dataset."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

import csm_kit as ck
from csm_kit.cli import app
from csm_kit.data.loading import load_dataset
from csm_kit.data.survey_settings import SurveySettings, survey_settings
from csm_kit.engine import ENGINE_VARIABLE
from csm_kit.errors import ConfigError, DataContractError
from csm_kit.headlines import headline
from csm_kit.kpis import kpi_directions, kpi_table
from csm_kit.targets import load_targets
from tests.conftest import write_tables

runner = CliRunner()

CUSTOMERS = "customer_id,signup_date,segment\nC1,2024-01-01,SMB\nC2,2024-01-01,SMB\nC3,2024-01-01,Enterprise\n"
SUBSCRIPTIONS = ("subscription_id,customer_id,start_date,end_date,mrr\n"
                 "S1,C1,2024-01-01,,100\nS2,C2,2024-01-01,,100\nS3,C3,2024-01-01,,100\n")
# CSAT on 1–10 in March 2024: 10, 9, 9, 8, 5 -> top two boxes (9–10) 3 of 5 = 60%;
# on the default 1–5 scale the 9s and 10s would be off the scale.
CSAT_1_TO_10 = ("response_id,customer_id,date,survey,score,comment\n"
                "R1,C1,2024-03-02,csat,10,Great\nR2,C2,2024-03-05,csat,9,\n"
                "R3,C3,2024-03-09,csat,9,\nR4,C1,2024-03-20,csat,8,\n"
                "R5,C2,2024-03-31,csat,5,Slow\n")


@pytest.fixture
def csat_1_to_10(tmp_path):
    return write_tables(tmp_path / "csat10", {"customers": CUSTOMERS,
                                              "subscriptions": SUBSCRIPTIONS,
                                              "surveys": CSAT_1_TO_10})


@pytest.fixture
def no_engine_variable(monkeypatch):
    monkeypatch.delenv(ENGINE_VARIABLE, raising=False)  # `metrics` sets it for its own process


# --------------------------------------------------------------------------- the settings


def test_the_defaults_are_nps_0_10_csat_1_5_ces_1_7_top_two_box_and_low_is_easy():
    s = SurveySettings()
    assert (s.scale("nps"), s.scale("csat"), s.scale("ces")) == ((0, 10), (1, 5), (1, 7))
    assert s.satisfied_from("csat") == 4 and s.satisfied_label("csat") == "4–5"
    assert s.ces_direction == "low" and s.ces_label == "1 = least effort"
    assert s.ces_target_direction == "lower_is_better"


@pytest.mark.parametrize(("text", "csat", "top_two"), [
    ("csat=1-10", (1, 10), "9–10"), ("csat=0-10", (0, 10), "9–10"), ("csat = 1–5", (1, 5), "4–5"),
])
def test_csat_scales_are_read_from_text_and_the_top_two_boxes_follow(text, csat, top_two):
    s = survey_settings(scales=text)
    assert s.scale("csat") == csat and s.satisfied_label("csat") == top_two


def test_ces_scale_and_direction_and_other_survey_types_are_declared_together():
    s = survey_settings(scales={"ces": "1-5", "review": [1, 5]}, ces_direction="high")
    assert s.scale("ces") == (1, 5) and s.ces_label == "5 = least effort"
    assert s.other_surveys == ["review"] and s.ces_target_direction == "higher_is_better"


@pytest.mark.parametrize(("value", "expected"), [(">= 8", 8.0), ("≥7", 7.0), (8, 8.0),
                                                 ("top-two-box", 9.0), ("top_two_box", 9.0)])
def test_satisfied_is_the_top_two_boxes_or_a_minimum_score(value, expected):
    s = survey_settings(scales="csat=1-10", satisfied={"csat": value})
    assert s.satisfied_from("csat") == expected


@pytest.mark.parametrize(("options", "message"), [
    ({"scales": "nps=1-10"}, "nps scale is always 0-10"),
    ({"scales": "csat=1-2"}, "at least 2 apart"),
    ({"scales": "csat=ten"}, "lowest-highest whole numbers"),
    ({"scales": "csat"}, "must read like csat=1-10"),
    ({"scales": {"Star Rating": "1-5"}}, "lower-case words"),
    ({"satisfied": {"csat": 6}}, "above the lowest and at most the highest .* 1-5, got 6"),
    ({"satisfied": {"csat": "most"}}, "top-two-box or a minimum score"),
    ({"satisfied": {"review": 4}}, "no scale"),
    ({"ces_direction": "up"}, "CES direction must be one of"),
])
def test_bad_settings_say_what_is_expected(options, message):
    with pytest.raises(ConfigError, match=message):
        survey_settings(**options)


# --------------------------------------------------------------------------- loading


def test_a_csat_on_1_to_10_fails_validation_until_its_scale_is_declared(csat_1_to_10):
    with pytest.raises(DataContractError, match="--survey-scales csat=1-10"):
        load_dataset(csat_1_to_10)
    ds = load_dataset(csat_1_to_10, scales="csat=1-10")
    assert ds.survey_settings.scale("csat") == (1, 10)


def test_the_mapping_file_sets_survey_settings_and_options_override_it(csat_1_to_10, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("surveys:\n  scales: {csat: 1-10, ces: 1-5}\n  satisfied: {csat: '>= 8'}\n"
                       "  ces_direction: high\n")
    ds = load_dataset(csat_1_to_10, mapping=mapping)
    s = ds.survey_settings
    assert (s.scale("csat"), s.scale("ces"), s.satisfied_from("csat"), s.ces_direction) == (
        (1, 10), (1, 5), 8.0, "high")
    ds = load_dataset(csat_1_to_10, mapping=mapping, ces_direction="low")
    assert ds.survey_settings.ces_direction == "low" and ds.survey_settings.scale("ces") == (1, 5)


def test_an_unknown_key_in_the_mapping_surveys_entry_is_named(csat_1_to_10, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("surveys:\n  scale: {csat: 1-10}\n")
    with pytest.raises(ConfigError, match="surveys may have .*scales.*got \\['scale'\\]"):
        load_dataset(csat_1_to_10, mapping=mapping)


def test_a_declared_review_survey_loads_and_an_undeclared_one_is_refused(tmp_path):
    folder = write_tables(tmp_path / "review", {
        "customers": CUSTOMERS,
        "surveys": ("response_id,customer_id,date,survey,score\n"
                    "R1,C1,2024-03-02,review,5\nR2,C2,2024-03-31,review,2\n")})
    with pytest.raises(DataContractError, match="--survey-scales review=1-5"):
        load_dataset(folder)
    ds = load_dataset(folder, scales="review=1-5")
    # mean (5 + 2) / 2 = 3.5; top two boxes (4–5): 1 of 2.
    out = ck.survey_scores(ds.surveys, settings=ds.survey_settings, min_n=1)
    assert out[["survey", "value", "n", "satisfied_share"]].values.tolist() == [
        ["review", 3.5, 2, 0.5]]


# --------------------------------------------------------------------------- metrics and targets


def test_the_kpi_export_reads_top_two_box_as_9_to_10_on_a_1_to_10_csat(csat_1_to_10):
    ds = load_dataset(csat_1_to_10, scales="csat=1-10")
    row = kpi_table(ds, metrics=["csat"]).set_index("period").loc["2024-03"]
    assert (row["value"], row["n"]) == (pytest.approx(3 / 5), 5)  # 10, 9, 9 of five answers


def test_validate_metrics_and_report_accept_the_survey_scales_option(csat_1_to_10,
                                                                     no_engine_variable):
    result = runner.invoke(app, ["validate", "--data", str(csat_1_to_10)])
    assert result.exit_code == 2 and "--survey-scales csat=1-10" in " ".join(result.output.split())
    result = runner.invoke(app, ["validate", "--data", str(csat_1_to_10),
                                 "--survey-scales", "csat=1-10"])
    assert result.exit_code == 0, result.output
    assert "csat 1–10" in result.output and "CSAT satisfied = 9–10" in result.output
    result = runner.invoke(app, ["metrics", "--data", str(csat_1_to_10), "--survey-scales",
                                 "csat=1-10", "--format", "json"])
    assert result.exit_code == 0, result.output
    table = pd.read_json(__import__("io").StringIO(result.stdout))
    csat = table[(table["metric"] == "csat") & (table["period"] == "2024-03")]
    assert csat["value"].tolist() == [pytest.approx(0.6)]


def test_a_bad_survey_scales_option_exits_2_with_the_reason(csat_1_to_10):
    result = runner.invoke(app, ["validate", "--data", str(csat_1_to_10),
                                 "--survey-scales", "csat=1"])
    assert result.exit_code == 2
    assert "the csat scale must be lowest-highest" in " ".join(result.output.split())


def _ces_dataset(direction):
    # Thirty CES answers on 1–7 in March (the KPI's minimum n, so there is a verdict): 6, 6, 7,
    # 7, 7, 6, 7, 6, 6, 7 three times -> mean 6.5; the low-effort side is 1–3 when low is easy
    # (none) and 5–7 when high is easy (all thirty).
    customers = pd.DataFrame({"customer_id": ["C1"], "signup_date": pd.to_datetime(["2024-01-01"])})
    surveys = pd.DataFrame({"response_id": [f"R{i}" for i in range(30)], "customer_id": "C1",
                            "date": pd.to_datetime(["2024-03-10"] * 29 + ["2024-03-31"]),
                            "survey": "ces", "score": [6, 6, 7, 7, 7, 6, 7, 6, 6, 7.0] * 3})
    return ck.Dataset(customers=customers, surveys=surveys,
                      survey_settings=survey_settings(ces_direction=direction))


def test_ces_with_high_as_easy_gets_the_opposite_verdicts_of_the_default():
    # Target: mean CES 3 (its direction follows the settings). Mean 6.5:
    # low = easy -> lower is better, 6.5 > 3 -> missed; high = easy -> 6.5 >= 3 -> met.
    verdicts = {}
    for direction in ("low", "high"):
        ds = _ces_dataset(direction)
        targets = load_targets({"ces": {"target": 3}, "ces_low_effort_share": {"target": 0.7}},
                               survey_settings=ds.survey_settings)
        directions = kpi_directions(ces_low_effort_is=ds.survey_settings.ces_direction)
        head = headline(kpi_table(ds, metrics=["ces", "ces_low_effort_share"]),
                        targets=targets, directions=directions).set_index("metric")
        verdicts[direction] = head["status"].to_dict()
        assert head.loc["ces", "value"] == pytest.approx(6.5)
    assert verdicts["low"] == {"ces": "missed", "ces_low_effort_share": "missed"}  # share 0
    assert verdicts["high"] == {"ces": "met", "ces_low_effort_share": "met"}  # share 1


def test_a_ces_target_direction_that_contradicts_the_settings_is_refused():
    with pytest.raises(ConfigError, match="CES direction is 'high'.*remove `direction`"):
        load_targets({"ces": {"target": 3, "direction": "lower_is_better"}},
                     survey_settings=survey_settings(ces_direction="high"))


def test_report_notebooks_take_the_survey_settings_from_open_report(csat_1_to_10):
    ctx = ck.open_report(str(csat_1_to_10), survey_scales="csat=1-10", ces_direction="high")
    assert ctx.survey_settings.scale("csat") == (1, 10) and ctx.survey_settings.ces_direction == "high"
    satisfied = ck.csat(ctx.dataset.surveys, settings=ctx.survey_settings, as_of=ctx.as_of)
    assert satisfied["value"].tolist() == [pytest.approx(0.6)]
