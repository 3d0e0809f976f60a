"""Themes in survey comments: keyword matching, counts that add up, quotes and churn by theme."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from csm_kit.comment_themes import (
    NO_COMMENT,
    UNTHEMED,
    churn_by_theme,
    comment_themes,
    load_themes,
    theme_counts,
    theme_quotes,
)
from csm_kit.errors import ConfigError

DEFAULT_THEMES = ["price", "support speed", "ease of use", "reliability", "onboarding",
                  "missing features", "reporting"]


def responses(comments, scores=None, survey="nps", dates=None, customers=None):
    n = len(comments)
    return pd.DataFrame({
        "response_id": [f"r{i}" for i in range(n)],
        "customer_id": customers or [f"c{i}" for i in range(n)],
        "date": pd.to_datetime(dates or ["2024-01-10"] * (n - 1) + ["2024-01-31"]),
        "survey": survey, "score": [float(s) for s in (scores or [5] * n)],
        "comment": comments})


def test_the_three_comment_example_gives_price_1_support_speed_1_no_comment_1():
    s = responses(["Too expensive for what we use", "support was slow", ""])
    counts = theme_counts(s).set_index("theme")["mentions"]
    assert counts[["price", "support speed", NO_COMMENT]].tolist() == [1, 1, 1]
    assert counts.drop(["price", "support speed", NO_COMMENT]).sum() == 0  # nothing else


def test_the_default_dictionary_has_the_seven_themes_in_order():
    assert list(load_themes()) == DEFAULT_THEMES


@pytest.mark.parametrize(("comment", "theme", "keyword"), [
    ("PRICING is too high", "price", "pricing"),
    ("We had to wait for days", "support speed", "wait"),
    ("Lots of bugs lately", "reliability", "bugs"),  # bug* matches word endings
    ("it took  a\twhile", "support speed", "took  a\twhile"),  # spaces in a phrase are flexible
    ("pri\u200bce went up", "price", "price"),  # invisible characters do not hide a keyword
    ("Ｄａｓｈｂｏａｒｄｓ are great", "reporting", "dashboards"),  # full-width letters (NFKC)
])
def test_keywords_match_as_whole_words_whatever_the_case_or_spacing(comment, theme, keyword):
    tagged = comment_themes(responses([comment]))
    assert tagged[["theme", "keyword"]].values.tolist() == [[theme, keyword]]


def test_a_keyword_inside_another_word_does_not_match():
    # "price" is not in "priceless", "ui" is not in "build", "down" is not in "download".
    tagged = comment_themes(responses(["A priceless build to download"]))
    assert tagged["theme"].tolist() == [UNTHEMED]


def test_a_comment_mentions_every_theme_it_names_once_each():
    tagged = comment_themes(responses(["Too expensive and support is slow, slow, slow"]))
    assert tagged["theme"].tolist() == ["price", "support speed"]


@pytest.mark.parametrize("empty", [None, "", "   ", "-", "..."])
def test_an_empty_or_wordless_comment_is_no_comment(empty):
    assert comment_themes(responses([empty]))["theme"].tolist() == [NO_COMMENT]


def test_shares_are_of_comments_and_no_comment_of_all_responses():
    # 4 responses, 3 comments: 2 mention price (2/3), 1 unthemed (1/3); 1 no comment (1/4).
    s = responses(["too expensive", "price hike", "great people", None])
    out = theme_counts(s).set_index("theme")
    assert out.loc["price", ["mentions", "comments", "share"]].tolist() == [2, 3, pytest.approx(2 / 3)]
    assert out.loc[UNTHEMED, "share"] == pytest.approx(1 / 3)
    assert out.loc[NO_COMMENT, ["share", "share_of"]].tolist() == [pytest.approx(0.25), "responses"]
    # Wilson 95% for 2 of 3: [0.208, 0.939].
    assert out.loc["price", ["ci_low", "ci_high"]].tolist() == pytest.approx([0.208, 0.939], abs=1e-3)


def test_by_nps_category_reads_only_nps_answers_in_their_own_category():
    # Detractor (3) on price, promoter (10) on speed, a CSAT answer on price (left out).
    s = pd.concat([responses(["too expensive", "quick answers"], scores=[3, 10]),
                   responses(["too expensive"], scores=[2], survey="csat")], ignore_index=True)
    out = theme_counts(s, by="nps_category").set_index(["nps_category", "theme"])["mentions"]
    assert out[("detractor", "price")] == 1 and out[("promoter", "price")] == 0
    assert out[("promoter", "support speed")] == 1
    assert out.xs("price", level="theme").sum() == 1


def test_by_segment_joins_the_customers_table():
    s = responses(["too expensive", "too expensive", "slow"], customers=["a", "b", "c"])
    customers = pd.DataFrame({"customer_id": ["a", "b", "c"], "segment": ["SMB", "SMB", "Ent"]})
    out = theme_counts(s, by="segment", customers=customers).set_index(["segment", "theme"])
    assert out.loc[("SMB", "price"), "mentions"] == 2 and out.loc[("Ent", "price"), "mentions"] == 0
    assert out.loc[("Ent", "support speed"), "comments"] == 1


comment_text = st.one_of(st.none(), st.sampled_from(
    ["", "too expensive", "slow support", "easy and quick", "bugs everywhere", "we love it",
     "missing reports", "onboarding was fine", "?!"]), st.text(max_size=30))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(comment_text, st.sampled_from(["SMB", "Ent", None]),
                          st.integers(0, 10)), min_size=1, max_size=25))
def test_the_tables_add_up_in_every_group(rows):
    s = responses([r[0] for r in rows], scores=[r[2] for r in rows],
                  dates=["2024-01-31"] * len(rows), customers=[f"c{i}" for i in range(len(rows))])
    customers = pd.DataFrame({"customer_id": s["customer_id"], "segment": [r[1] for r in rows]})
    tagged = comment_themes(s)
    # Every response is themed, unthemed or no comment — never lost, never both.
    assert set(tagged["response_id"]) == set(s["response_id"])
    per_response = tagged.groupby("response_id")["theme"].agg(set)
    assert all(not ({UNTHEMED, NO_COMMENT} & t) or len(t) == 1 for t in per_response)
    for by in (None, "segment", "nps_category"):
        out = theme_counts(s, by=by, customers=customers)
        groups = out.groupby(by, dropna=False) if by else [(None, out)]
        total = 0
        for _, g in groups:
            g = g.set_index("theme")
            responses_n, comments_n = g["responses"].iloc[0], g["comments"].iloc[0]
            themed = comments_n - g.loc[UNTHEMED, "mentions"]
            assert g.loc[NO_COMMENT, "mentions"] + comments_n == responses_n
            assert 0 <= themed <= g.loc[DEFAULT_THEMES, "mentions"].sum()
            assert (g.loc[DEFAULT_THEMES, "mentions"] <= themed).all()
            total += responses_n
        assert total == (len(s) if by != "nps_category" else (s["survey"] == "nps").sum())


def test_quotes_are_the_newest_comments_per_theme_with_the_matching_keyword():
    s = responses(["too expensive", "the price!", "cheaper elsewhere", "lovely"],
                  dates=["2024-01-02", "2024-01-05", "2024-01-20", "2024-01-31"])
    quotes = theme_quotes(s, per_theme=2)
    assert quotes[["theme", "keyword", "comment"]].values.tolist() == [
        ["price", "cheaper", "cheaper elsewhere"], ["price", "price", "the price!"],
        [UNTHEMED, "", "lovely"]]


def test_churn_by_theme_counts_comments_of_active_customers_followed_by_churn():
    # a, b, c active since 2023. Price comments: a (stays), b (leaves 10 Feb, inside 30 days);
    # c says something unthemed and stays; d writes after leaving (not counted).
    # Label month: 15 Jan + 30 days = 14 Feb -> the end of February.
    subs = pd.DataFrame({"customer_id": list("abcd"), "mrr": 10.0,
                         "start_date": pd.to_datetime(["2023-06-01"] * 4),
                         "end_date": pd.to_datetime([None, "2024-02-10", None, "2023-12-01"])})
    s = responses(["too expensive", "price is high", "nice team", "too expensive"],
                  customers=list("abcd"), dates=["2024-01-15"] * 4)
    out = churn_by_theme(s, subs, horizon_days=30, as_of="2024-03").set_index("theme")
    assert out.loc["price", ["comments", "customers", "churned"]].tolist() == [2, 2, 1]
    assert out.loc["price", "rate"] == pytest.approx(0.5)
    assert out.loc[UNTHEMED, ["comments", "churned"]].tolist() == [1, 0]
    assert out.loc["all comments", ["comments", "churned"]].tolist() == [3, 1]
    assert out.loc["reporting", "comments"] == 0 and pd.isna(out.loc["reporting", "rate"])


def test_comments_whose_horizon_is_not_yet_over_are_left_out():
    # A comment on 20 March with a 30-day horizon is labelled at the end of April; the data
    # ends in March, so it is not counted yet.
    subs = pd.DataFrame({"customer_id": ["a"], "mrr": 10.0,
                         "start_date": pd.to_datetime(["2023-06-01"])})
    s = responses(["too expensive"], customers=["a"], dates=["2024-03-20"])
    out = churn_by_theme(s, subs, horizon_days=30, as_of="2024-03").set_index("theme")
    assert out.loc["all comments", "comments"] == 0


def test_a_themes_file_of_your_own_replaces_the_defaults(tmp_path):
    path = tmp_path / "themes.yaml"
    path.write_text("themes:\n  contract terms:\n    keywords: [contract*, notice period]\n")
    tagged = comment_themes(responses(["The notice period is long"]), themes=str(path))
    assert tagged["theme"].tolist() == ["contract terms"]


@pytest.mark.parametrize(("raw", "message"), [
    ({"themes": {"price": {"keywords": []}}}, "needs `keywords`"),
    ({"themes": {"price": {"keywords": [3]}}}, "needs `keywords`"),
    ({"themes": {"unthemed": ["x"]}}, "reserved"),
    ({"topics": {}}, "needs a `themes:` mapping"),
])
def test_a_bad_themes_file_says_what_is_wrong(raw, message):
    with pytest.raises(ConfigError, match=message):
        load_themes(raw)


def test_a_very_long_hostile_comment_is_matched_without_trouble():
    hostile = '<script>alert("x")</script> ' + "a" * 1_000_000 + " too expensive"
    tagged = comment_themes(responses([hostile]))
    assert tagged["theme"].tolist() == ["price"]


def test_churn_after_a_comment_is_read_as_the_set_of_customer_months_would_read_it():
    # _active_in replaces a Python set of (customer_id, month) tuples; on the sample's NPS
    # comments and their label months it must answer as that set does, row for row.
    import csm_kit as ck
    from csm_kit.comment_themes import _active_in
    from csm_kit.revenue import customer_months

    ds = ck.load_sample()
    months = customer_months(ds.subscriptions)
    answered = ds.surveys.dropna(subset=["date"])
    label = (answered["date"].dt.normalize() + pd.Timedelta(days=90)
             + pd.offsets.MonthEnd(0)).dt.to_period("M").dt.start_time
    active = set(zip(months["customer_id"], months["month"], strict=True))
    expected = [(c, m) in active for c, m in zip(answered["customer_id"], label, strict=True)]
    got = _active_in(answered["customer_id"], label, months)
    assert got.tolist() == expected
    assert 0 < sum(expected) < len(expected)  # both answers occur


@settings(max_examples=40, deadline=None)
@given(st.lists(comment_text, min_size=1, max_size=30))
def test_each_comment_is_tagged_as_if_it_were_matched_on_its_own(comments):
    # comment_themes matches each distinct comment once and copies the result to its
    # repeats; one response at a time, matched directly with each theme's pattern (the
    # documented rule), gives the same themes and keywords, repeats included.
    import re
    import unicodedata

    from csm_kit.safe_text import INVISIBLE

    themes = load_themes(None)
    s = responses(comments + comments[::-1], dates=["2024-01-31"] * (2 * len(comments)))
    expected = []
    for rid, comment in zip(s["response_id"], s["comment"], strict=True):
        text = None if pd.isna(comment) else unicodedata.normalize(
            "NFKC", comment.translate(INVISIBLE)).casefold()
        if text is None or not re.search(r"\w", text):  # no word: no comment
            expected.append((rid, NO_COMMENT, ""))
            continue
        found = [(rid, t.name, m.group(1)) for t in themes.values()
                 if (m := t.pattern.search(text))]
        expected += found or [(rid, UNTHEMED, "")]
    got = comment_themes(s)[["response_id", "theme", "keyword"]]
    assert list(got.itertuples(index=False, name=None)) == expected
