"""Themes in survey comments: what customers write about, counted offline and explainably.

A theme is a topic (price, support speed, ease of use, reliability, onboarding, missing
features, reporting) defined by a list of keywords and phrases in a YAML file
(``csm_kit/config/comment_themes.yaml`` is the default; its header explains the matching).
No model, no network: a comment mentions a theme when it contains one of its keywords as whole
words, and every match names the keyword that made it, so any count can be checked by reading
the comments behind it.

What is counted, everywhere in this module:

* **response** — a survey row (any survey type unless ``survey=`` picks some);
* **no comment** — a response whose comment is empty or has no letter or digit;
* **comment** — any other response; it mentions zero, one or several themes, and one that
  mentions none is **unthemed**. So, in every group: responses = comments + no comment, and
  comments = themed + unthemed, while the theme counts add up to at least the themed
  comments (a comment about price and speed counts in both).

Comment text is untrusted: it is matched here and shown only through the report's escaping
helpers; with privacy "pseudonymised" the dataset's comments have already lost e-mail
addresses and phone numbers, and with "aggregate" reports leave quotes out.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.config_files import read_yaml
from csm_kit.errors import ConfigError
from csm_kit.grouping import in_periods, with_group
from csm_kit.periods import month_index, period_start
from csm_kit.revenue import customer_months
from csm_kit.safe_text import INVISIBLE
from csm_kit.stats import wilson_interval

NO_COMMENT = "no comment"
UNTHEMED = "unthemed"
ALL_COMMENTS = "all comments"
NPS_CATEGORY = "nps_category"
_HAS_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Theme:
    """One theme: its name, what it covers, its keywords and the pattern built from them."""

    name: str
    description: str
    keywords: tuple[str, ...]
    pattern: re.Pattern


def load_themes(source: str | Path | dict | None = None) -> dict[str, Theme]:
    """Read and check a themes file (``None`` = the packaged ``comment_themes.yaml``).

    The file has one entry per theme under ``themes:``, each with ``keywords`` (a list of
    words or phrases; a trailing ``*`` matches any word ending) and an optional
    ``description``.

    Raises
    ------
    ConfigError
        For a theme without keywords, a keyword that is not text, or a theme named like the
        reserved rows "unthemed" and "no comment".

    Examples
    --------
    >>> themes = load_themes({"themes": {"price": {"keywords": ["price*", "too expensive"]}}})
    >>> bool(themes["price"].pattern.search("the prices went up")), list(themes)
    (True, ['price'])
    """
    raw, where = read_yaml(source, what="themes file", default="comment_themes.yaml")
    entries = raw.get("themes") if isinstance(raw, dict) else None
    if not isinstance(entries, dict) or not entries:
        raise ConfigError(f"{where}: a themes file needs a `themes:` mapping of theme names to "
                          "keyword lists")
    themes = {}
    for name, spec in entries.items():
        name = str(name).strip()
        if name.lower() in (NO_COMMENT, UNTHEMED):
            raise ConfigError(f"{where}: {name!r} is reserved for comments without a theme; "
                              "rename the theme")
        spec = spec if isinstance(spec, dict) else {"keywords": spec}
        keywords = spec.get("keywords")
        if not isinstance(keywords, list) or not keywords or not all(
                isinstance(k, str) and k.strip(" *") for k in keywords):
            raise ConfigError(f"{where}: theme {name!r} needs `keywords`, a list of words or "
                              f"phrases, got {keywords!r}")
        words = tuple(_normalised(k.strip()) for k in keywords)
        themes[name] = Theme(name=name, description=str(spec.get("description", "")),
                             keywords=words, pattern=_pattern(words))
    return themes


def comment_themes(surveys: pd.DataFrame, *,
                   themes: dict[str, Theme] | str | Path | None = None) -> pd.DataFrame:
    """Tag every survey response with the themes its comment mentions (one row per mention).

    Parameters
    ----------
    surveys : survey responses (response_id, customer_id, date, survey, score[, comment]).
    themes : from :func:`load_themes`, or a themes file; default the packaged one.

    Returns
    -------
    DataFrame surveys' columns but the comment → the same plus theme and keyword (the
    matched words as written in the comment, lower-case): one row per response and theme it
    mentions, one "unthemed" row for a comment that mentions none (keyword empty) and one
    "no comment" row for a response without a comment. Rows keep the surveys' order, themes
    in the file's order.

    Examples
    --------
    >>> s = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "customer_id": list("abc"),
    ...                   "comment": ["Too expensive for what we use", "support was slow", None]})
    >>> print(comment_themes(s)[["response_id", "theme", "keyword"]].to_string())
      response_id          theme    keyword
    0          r1          price  expensive
    1          r2  support speed       slow
    2          r3     no comment
    """
    themes = _themes(themes)
    text = _comment_text(surveys)
    has_comment = text.str.contains(_HAS_WORD).fillna(False).to_numpy(dtype=bool)
    base = surveys.drop(columns="comment", errors="ignore").reset_index(drop=True)
    base["_row"] = np.arange(len(base))
    parts = [base[~has_comment].assign(theme=NO_COMMENT, keyword="", _order=len(themes) + 1)]
    mentioned = np.zeros(len(base), dtype=bool)
    # each distinct comment is matched once (survey comments repeat: "Great", "Too slow")
    codes, distinct = pd.factorize(text[has_comment].to_numpy(dtype=object))
    distinct = pd.Series(distinct, dtype="object")
    for order, theme in enumerate(themes.values()):
        found = distinct.str.extract(theme.pattern, expand=False).to_numpy(dtype=object)[codes]
        hit = pd.notna(found)
        rows = np.flatnonzero(has_comment)[hit]
        mentioned[rows] = True
        parts.append(base.iloc[rows].assign(theme=theme.name, keyword=found[hit],
                                            _order=order))
    unthemed = has_comment & ~mentioned
    parts.append(base[unthemed].assign(theme=UNTHEMED, keyword="", _order=len(themes)))
    out = pd.concat(parts, ignore_index=True).sort_values(["_row", "_order"], kind="stable")
    return out.drop(columns=["_row", "_order"]).reset_index(drop=True)


def theme_counts(surveys: pd.DataFrame, *, themes: dict[str, Theme] | str | Path | None = None,
                 by: str | None = None, freq: str = "M", survey: str | list[str] | None = None,
                 customers: pd.DataFrame | None = None, as_of=None) -> pd.DataFrame:
    r"""How often each theme is mentioned, per group, with its share of comments and an interval.

    .. math:: \text{share}_{t,g} = \frac{\#\{\text{comments in } g \text{ mentioning } t\}}
                                       {\#\{\text{comments in } g\}}

    The "unthemed" row uses the same denominator; the "no comment" row's share is of all
    responses in the group (``share_of`` says which).

    Parameters
    ----------
    themes : as in :func:`comment_themes`.
    by : None (everything), ``"period"`` (the response date's period of ``freq``),
        ``"nps_category"`` (the response's own promoter/passive/detractor class — only NPS
        responses are read), a surveys column (``survey``, ``csm``, ``agent``) or a
        customers column (``segment``, ``plan``…, with ``customers=``).
    freq : ``"M"``, ``"Q"`` or ``"Y"`` for ``by="period"``.
    survey : read only these survey types (default all; ``by="nps_category"`` reads nps).
    customers : the customers table, for a ``by`` that is one of its columns.
    as_of : keep responses up to the end of this month (default: the last complete month of
        the survey dates).

    Returns
    -------
    DataFrame with [by], theme (each theme of the file in order, then "unthemed" and "no
    comment"), mentions (responses), comments and responses (of the group), share (0–1; NaN
    without a denominator), share_of ("comments" or "responses"), ci_low, ci_high (95% Wilson).
    Every group has a row for every theme (0 mentions included).

    Examples
    --------
    >>> s = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "customer_id": list("abc"),
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-31"]),
    ...                   "survey": "nps", "score": [3, 6, 9.0],
    ...                   "comment": ["Too expensive for what we use", "support was slow", ""]})
    >>> out = theme_counts(s).set_index("theme")
    >>> out.loc[["price", "support speed", "unthemed", "no comment"], ["mentions", "share"]]
                   mentions  share
    theme
    price                 1   0.50
    support speed         1   0.50
    unthemed              0   0.00
    no comment            1   0.33...
    """
    themes = _themes(themes)
    responses = _chosen(surveys, survey, by, as_of=as_of).copy()
    key = _group_column(responses, by, freq=freq, customers=customers) or "_all"
    if key == "_all":
        responses["_all"] = ""
    tagged = comment_themes(responses, themes=themes)
    names = [*themes, UNTHEMED, NO_COMMENT]
    totals = responses.groupby(key, dropna=False).size()
    wide = (tagged.groupby([key, "theme"], dropna=False).size().unstack("theme", fill_value=0)
            .reindex(index=totals.index, columns=names, fill_value=0))
    comments = totals.to_numpy() - wide[NO_COMMENT].to_numpy()
    long = pd.concat([pd.DataFrame({key: totals.index, "theme": name,
                                    "mentions": wide[name].to_numpy(), "comments": comments,
                                    "responses": totals.to_numpy()}) for name in names],
                     ignore_index=True)
    long = long.sort_values(key, kind="stable", na_position="last") if by else long
    long["share_of"] = np.where(long["theme"] == NO_COMMENT, "responses", "comments")
    base = np.where(long["share_of"] == "responses", long["responses"], long["comments"])
    long["share"] = long["mentions"] / pd.Series(base, index=long.index).where(base > 0)
    long["ci_low"], long["ci_high"] = wilson_interval(long["mentions"], base)
    columns = [*([key] if by else []), "theme", "mentions", "comments", "responses", "share",
               "share_of", "ci_low", "ci_high"]
    return long[columns].astype({"mentions": "int64", "comments": "int64",
                                 "responses": "int64"}).reset_index(drop=True)


def theme_quotes(surveys: pd.DataFrame, *, themes: dict[str, Theme] | str | Path | None = None,
                 per_theme: int = 3, survey: str | list[str] | None = None,
                 as_of=None) -> pd.DataFrame:
    """The latest comments behind each theme, as examples to read (newest first).

    Parameters
    ----------
    per_theme : comments shown per theme (unthemed ones too, so the dictionary can be
        improved from what it misses).
    Others as in :func:`theme_counts`.

    Returns
    -------
    DataFrame with theme, keyword, date, survey, score and comment — the text as the
    customer wrote it, *not escaped*: show it with the report's table helpers (which escape
    and shorten it) and leave it out with privacy "aggregate".

    Examples
    --------
    >>> s = pd.DataFrame({"response_id": ["r1", "r2"], "customer_id": list("ab"),
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-31"]), "survey": "nps",
    ...                   "score": [3, 9.0], "comment": ["Pricing hurts", "Great team"]})
    >>> theme_quotes(s)[["theme", "keyword", "comment"]].values.tolist()
    [['price', 'pricing', 'Pricing hurts'], ['unthemed', '', 'Great team']]
    """
    if isinstance(per_theme, bool) or not isinstance(per_theme, int | np.integer) or per_theme < 1:
        raise ConfigError(f"`per_theme` must be a whole number >= 1, got {per_theme!r}")
    themes = _themes(themes)
    responses = _chosen(surveys, survey, None, as_of=as_of).reset_index(drop=True)
    tagged = comment_themes(responses.assign(_quote=np.arange(len(responses))), themes=themes)
    tagged = tagged[tagged["theme"] != NO_COMMENT]
    tagged["comment"] = responses["comment"].to_numpy()[tagged["_quote"].to_numpy()]
    order = {name: i for i, name in enumerate([*themes, UNTHEMED])}
    tagged = tagged.sort_values("date", ascending=False, kind="stable")
    picked = tagged.groupby("theme", sort=False).head(per_theme)
    picked = picked.sort_values("theme", key=lambda t: t.map(order), kind="stable")
    columns = [c for c in ("theme", "keyword", "date", "survey", "score", "comment")
               if c in picked.columns]
    return picked[columns].reset_index(drop=True)


def churn_by_theme(surveys: pd.DataFrame, subscriptions: pd.DataFrame, *,
                   themes: dict[str, Theme] | str | Path | None = None,
                   horizon_days: int = 90, survey: str | list[str] | None = None,
                   as_of=None) -> pd.DataFrame:
    r"""Do customers who write about a theme churn more? Churn within 90 days of the comment.

    Each comment counts when its customer was active (MRR > 0) on the comment's day; it is
    followed by churn when the customer is not active at the first month end on or after the
    comment day + ``horizon_days`` (the health backtest's rule; active = MRR > 0 at a month
    end, :func:`csm_kit.revenue.customer_months`).

    .. math:: \text{rate}_t = \frac{\#\{\text{comments mentioning } t \text{ followed by churn}\}}
                                   {\#\{\text{comments mentioning } t\}}

    Parameters
    ----------
    horizon_days : days after the comment.
    as_of : last month of data (default: the last complete month of the subscriptions, as in
        customer_months); comments whose horizon ends after it are left out (not yet known).
    Others as in :func:`theme_counts`.

    Returns
    -------
    DataFrame, one row per theme, then "unthemed" and "all comments" (the baseline): theme,
    comments, customers (distinct, behind the comments), churned (comments followed by
    churn), rate (0–1, NaN without comments), ci_low, ci_high (95% Wilson).

    Notes
    -----
    The unit is the comment, the same as in :func:`theme_counts`, so the themes and the
    baseline compare like with like; a customer who writes three times counts three times
    (``customers`` shows how many distinct customers are behind a row — with few, read the
    interval as optimistic). A customer who comes back before the label month end counts as
    retained. Comments of customers not active on the day (e.g. after they left) are left out.

    Examples
    --------
    a and b complain about price in January; b's subscription ends in February; c's comment
    mentions nothing: price churn 1 of 2 within 30 days.

    >>> subs = pd.DataFrame({"customer_id": list("abc"), "mrr": 10.0,
    ...                      "start_date": pd.to_datetime(["2023-06-01"] * 3),
    ...                      "end_date": pd.to_datetime([None, "2024-02-10", None])})
    >>> s = pd.DataFrame({"response_id": ["r1", "r2", "r3"], "customer_id": list("abc"),
    ...                   "date": pd.to_datetime(["2024-01-05", "2024-01-09", "2024-01-20"]),
    ...                   "survey": "nps", "score": [3, 2, 9.0],
    ...                   "comment": ["too expensive", "the price!", "great"]})
    >>> out = churn_by_theme(s, subs, horizon_days=30, as_of="2024-03")
    >>> print(out.set_index("theme").loc[["price", "unthemed", "all comments"],
    ...                                  ["comments", "churned", "rate"]].to_string())
                  comments  churned  rate
    theme
    price                2        1   0.5
    unthemed             1        0   0.0
    all comments         3        1   0.333...
    """
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int | np.integer) \
            or horizon_days < 1:
        raise ConfigError(f"`horizon_days` must be a whole number of days >= 1, got {horizon_days!r}")
    themes = _themes(themes)
    months = customer_months(subscriptions, as_of=as_of)
    names = [*themes, UNTHEMED, ALL_COMMENTS]
    if months.empty:
        return _rates(pd.DataFrame({"theme": names, "comments": 0, "customers": 0, "churned": 0}))
    last = months["month"].max()
    answered = _chosen(surveys, survey, None, as_of=last).reset_index(drop=True)
    label = (answered["date"].dt.normalize() + pd.Timedelta(days=horizon_days)
             + pd.offsets.MonthEnd(0)).dt.to_period("M").dt.start_time
    answered = answered[(label <= last).to_numpy() & _active_on(answered, subscriptions)]
    label = label[answered.index]
    answered = answered.assign(_comment=np.arange(len(answered)),
                               churned=~_active_in(answered["customer_id"], label, months))
    tagged = comment_themes(answered, themes=themes)
    tagged = tagged[tagged["theme"] != NO_COMMENT]
    baseline = tagged.drop_duplicates("_comment").assign(theme=ALL_COMMENTS)
    rows = pd.concat([tagged, baseline])
    table = rows.groupby("theme").agg(comments=("churned", "size"),
                                      customers=("customer_id", "nunique"),
                                      churned=("churned", "sum"))
    table = table.reindex(names).fillna(0).astype("int64").rename_axis("theme").reset_index()
    return _rates(table)


def _rates(table: pd.DataFrame) -> pd.DataFrame:
    table["rate"] = table["churned"] / table["comments"].where(table["comments"] > 0)
    table["ci_low"], table["ci_high"] = wilson_interval(table["churned"], table["comments"])
    return table


def _active_in(ids: pd.Series, month: pd.Series, months: pd.DataFrame) -> np.ndarray:
    """Per (customer, month start): does ``months`` (customer_months) hold that customer-month?

    Customers and months become one integer key each (customer code × 2^20 + month index), so
    the lookup is an integer ``isin``: a set of (id, Timestamp) tuples held every
    customer-month as Python objects (~6 GB at a million customers × 36 months).
    """
    codes, _ = pd.factorize(pd.concat([months["customer_id"], ids], ignore_index=True))
    known = (codes[:len(months)].astype("int64") << 20) + month_index(months["month"]).to_numpy()
    asked = (codes[len(months):].astype("int64") << 20) + month_index(month).to_numpy()
    return pd.Series(asked).isin(known).to_numpy()


def _active_on(tagged: pd.DataFrame, subscriptions: pd.DataFrame) -> np.ndarray:
    """Per tagged row: was its customer's summed MRR above 0 on the comment day?"""
    rows = tagged[["customer_id", "date"]].reset_index(drop=True)
    rows["_row"] = np.arange(len(rows))
    subs = subscriptions[["customer_id", "start_date", "end_date", "mrr"]] \
        if "end_date" in subscriptions.columns else \
        subscriptions[["customer_id", "start_date", "mrr"]].assign(end_date=pd.NaT)
    pairs = rows.merge(subs, on="customer_id")
    day = pairs["date"].dt.normalize()
    live = (pairs["start_date"] <= day) & ~(pairs["end_date"] <= day)
    mrr = pairs["mrr"].where(live, 0.0).groupby(pairs["_row"]).sum()
    return (mrr.reindex(rows["_row"]).fillna(0) > 0).to_numpy()


def _themes(themes) -> dict[str, Theme]:
    if isinstance(themes, dict) and themes and all(isinstance(t, Theme) for t in themes.values()):
        return themes
    return dict(_default_themes()) if themes is None else load_themes(themes)


@functools.lru_cache(maxsize=1)
def _default_themes() -> dict[str, Theme]:
    """The packaged dictionary, read and compiled once per process (it never changes)."""
    return load_themes(None)


def _chosen(surveys: pd.DataFrame, survey, by, *, as_of) -> pd.DataFrame:
    """Responses of the chosen survey types up to the end of the as-of month."""
    if by == NPS_CATEGORY:
        survey = "nps"
    if survey is not None:
        wanted = [survey] if isinstance(survey, str) else list(survey)
        surveys = surveys[surveys["survey"].str.lower().isin([w.lower() for w in wanted])]
    if "date" in surveys.columns:
        surveys = in_periods(surveys, "date", freq="M", as_of=as_of).drop(columns="period")
    if "comment" not in surveys.columns:
        surveys = surveys.assign(comment=pd.Series(pd.NA, index=surveys.index, dtype="object"))
    return surveys


def _group_column(responses: pd.DataFrame, by, *, freq, customers) -> str | None:
    """Add the ``by`` column to ``responses`` in place of a derived one; return its name."""
    if by is None:
        return None
    if by == "period":
        responses["period"] = period_start(responses["date"], freq)
    elif by == NPS_CATEGORY:
        score = responses["score"]
        responses[NPS_CATEGORY] = np.select([score >= 9, score >= 7, score.notna()],
                                            ["promoter", "passive", "detractor"], None)
    else:
        joined = with_group(responses, by, customers, table="surveys")
        responses[by] = joined[by].to_numpy()
    return by


def _comment_text(surveys: pd.DataFrame) -> pd.Series:
    """Comments normalised for matching: NFKC, invisible characters removed, case folded."""
    if "comment" not in surveys.columns:
        return pd.Series(pd.NA, index=range(len(surveys)), dtype="object")
    text = surveys["comment"].reset_index(drop=True)
    present = text.notna()
    codes, distinct = pd.factorize(text[present].astype(str).to_numpy(dtype=object))
    cleaned = np.array([_normalised(t) for t in distinct], dtype=object)[codes]
    return pd.Series(cleaned, index=text.index[present], dtype="object").reindex(text.index)


def _normalised(text: str) -> str:
    return unicodedata.normalize("NFKC", text.translate(INVISIBLE)).casefold()


def _pattern(keywords: tuple[str, ...]) -> re.Pattern:
    """One regex per theme: any keyword as whole words; ``*`` = any word ending; spaces flexible."""
    alternatives = []
    for word in sorted(set(keywords), key=len, reverse=True):  # longest first: phrases win
        stem = word.endswith("*")
        body = r"\s+".join(re.escape(part) for part in word.rstrip("*").split())
        alternatives.append(body + (r"\w*" if stem else ""))
    return re.compile(r"(?<!\w)(" + "|".join(alternatives) + r")(?!\w)")
