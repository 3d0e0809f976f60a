"""Next best actions: who to call this week, and why.

:func:`account_evidence` gathers, per account active on the as-of day, everything a play may
look at: the health signals, score, band, weakest component and profile, the churn
probability and its risk band, the latest NPS and CSAT answers of the last weeks and the next
renewal. :func:`action_list` applies a playbook (``csm_kit/config/playbook.yaml``) to it and
returns one row per account that a play fired for — its most urgent play, its owner (the
account's CSM), a due date, the values that fired the rule, its MRR, probability and the
comment that goes with it. :func:`action_backtest` rebuilds the list at past scoring days and
measures how often the listed accounts churned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from csm_kit.data.loading import Dataset
from csm_kit.frames import isin
from csm_kit.health.playbook import Play, Playbook, load_playbook
from csm_kit.health.probability import ChurnModel, fit_churn_model
from csm_kit.health.scores import _resolve, load_health_config, score_signals
from csm_kit.health.signals import SIGNALS, scoring_day, signals_on

UNASSIGNED = "(unassigned)"
COMMENT_MONTHS = 12

#: Evidence columns a play may test, beyond the health signals (:data:`SIGNALS`).
EVIDENCE: dict[str, str] = {
    "segment": "customers.segment",
    "score": "health score on the as-of day (0–100, 100 = healthy)",
    "band": "health band: red, yellow or green",
    "weakest_component": "the health component costing the account the most points",
    "profile": "established, or onboarding for an account younger than the onboarding tenure",
    "probability": "churn probability within the model's horizon (0–1)",
    "risk_band": "band of the probability: red at 3x the base churn rate or more, yellow at "
                 "1x or more, else green",
    "recent_nps": "the lowest NPS answer (0–10) of the account in the last recent_days days",
    "recent_csat": "the lowest CSAT answer of the account in the last recent_days days",
    "renewal_arr": "ARR due at the next renewal not yet signed (the one days_to_renewal "
                   "counts to)",
    **SIGNALS,
}
#: The evidence columns account_evidence builds only with ``texts``.
_TEXT_COLUMNS = {"name", "owner", "recent_nps_comment", "recent_csat_comment", "latest_comment",
                 "latest_comment_date"}
ACTION_COLUMNS = ["customer_id", "name", "segment", "owner", "play", "action", "priority",
                  "due_date", "evidence", "mrr", "probability", "band", "score", "comment",
                  "other_plays"]


def account_evidence(dataset: Dataset, *, as_of=None, model: ChurnModel | None = None,
                     config=None, recent_days: int = 31,
                     signals: pd.DataFrame | None = None, texts: bool = True) -> pd.DataFrame:
    """Everything a play may test, per account active at the end of the as-of day.

    Parameters
    ----------
    dataset : the loaded tables.
    as_of : the day (its end); None = last day of the last complete month.
    model : a fitted :class:`~csm_kit.health.probability.ChurnModel` (its health configuration
        scores the accounts); None = no probability (NaN) and ``config`` scores them.
    config : the health configuration when ``model`` is None (None = packaged).
    recent_days : the window of "new" NPS and CSAT answers, ending on the as-of day.
    signals : the accounts' signals when already computed: that day's (e.g. from a history),
        or several days' with an ``as_of`` column (see
        :func:`csm_kit.health.signals.signals_on`).
    texts : False leaves out name, owner and the comment columns (what a play tests is all the
        play backtest needs).

    Returns
    -------
    DataFrame customer_id, name, owner (customers.csm; "(unassigned)" when empty), then every
    column of :data:`EVIDENCE` (units there), then recent_nps_comment, recent_csat_comment
    (the comments of those answers), latest_comment and latest_comment_date (the latest
    survey comment of the last 12 months).
    """
    day = scoring_day(dataset, as_of)
    config = model.config if model is not None else _resolve(config, load_health_config)
    signals = signals_on(dataset, day, custom=config.signals, signals=signals).reset_index(
        drop=True)
    health = score_signals(signals, config=config)
    out = signals.drop(columns=["as_of", "churned"], errors="ignore").copy()
    for column in ("score", "band", "weakest_component", "profile"):
        out[column] = health[column].to_numpy()
    p = model.predict(signals) if model is not None else np.full(len(out), np.nan)
    out["probability"] = p
    out["risk_band"] = pd.array(model.band(p) if model is not None else [None] * len(out),
                                dtype="str")
    ids = out["customer_id"]
    if texts:
        customers = dataset.customers.drop_duplicates("customer_id").set_index("customer_id")
        out.insert(1, "name", customers["name"].reindex(ids).to_numpy()
                   if "name" in customers.columns else None)
        owner = customers["csm"].reindex(ids) if "csm" in customers.columns else pd.Series(
            None, index=ids, dtype="str")
        out.insert(2, "owner", owner.astype("str").fillna(UNASSIGNED).to_numpy())
    out = _with_recent_answers(out, dataset.surveys, day, recent_days, comments=texts)
    out["renewal_arr"] = _next_renewal_arr(dataset.renewals, day).reindex(ids).to_numpy()
    return _with_latest_comment(out, dataset.surveys, day) if texts else out


def action_list(dataset: Dataset, *, as_of=None, playbook: Playbook | str | Path | dict | None = None,
                model: ChurnModel | None = None, config=None,
                evidence: pd.DataFrame | None = None,
                signals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Who to call, and why: one row per account a play fired for, with its most urgent play.

    Parameters
    ----------
    dataset : the loaded tables.
    as_of : the day (its end); None = last day of the last complete month. Due dates count
        from it.
    playbook : a :class:`~csm_kit.health.playbook.Playbook`, YAML path or dict; None = the
        packaged ``csm_kit/config/playbook.yaml``.
    model : a fitted churn model; None = fitted here (a backtest's worth of work); False = no
        probability (NaN, and plays on it never fire).
    config : the health configuration when the model is fitted here.
    evidence : :func:`account_evidence` already computed for this day (model and playbook
        window included), to reuse it.
    signals : the customers' signals when already computed (as for :func:`account_evidence`).

    Returns
    -------
    DataFrame customer_id, name, segment, owner, play (its name in the playbook), action (what
    to do), priority (1 = most urgent), due_date (as-of day + the play's due_in_days),
    evidence (the values that fired the rule, e.g. ``recent_nps = 3 (≤ 6)``), mrr,
    probability, band, score, comment (the answer's comment for a play on recent_nps or
    recent_csat, else the latest survey comment of the last 12 months), other_plays (the
    other plays that fired, most urgent first). Sorted by priority, then by expected MRR at
    risk (probability × MRR), largest first.

    Examples
    --------
    a answered NPS 3 on 20 March ("Too slow"); b answered 9. With one play on new
    detractors, only a is listed, due three days after the as-of day.

    >>> ds = Dataset(
    ...     customers=pd.DataFrame({"customer_id": ["a", "b"], "csm": ["Ana", None],
    ...                             "signup_date": pd.Timestamp("2023-01-01")}),
    ...     surveys=pd.DataFrame({"customer_id": ["a", "b"], "survey": "nps", "score": [3.0, 9.0],
    ...                           "date": pd.Timestamp("2024-03-20"),
    ...                           "comment": ["Too slow", None]}))
    >>> book = {"plays": {"detractor": {"priority": 1, "play": "Call them", "due_in_days": 3,
    ...                                 "when": {"recent_nps": {"at_most": 6}}}}}
    >>> out = action_list(ds, as_of="2024-03-31", playbook=book, model=False)
    >>> print(out[["customer_id", "owner", "play", "due_date", "evidence", "comment"]]
    ...       .to_string(index=False))
    customer_id owner      play   due_date                evidence  comment
              a   Ana detractor 2024-04-03 recent_nps = 3 (≤ 6) Too slow
    """
    day = scoring_day(dataset, as_of)
    columns = list(EVIDENCE)
    if evidence is None:
        book = _playbook(playbook, columns)
        if model is None:
            model = fit_churn_model(dataset, config=config)
        evidence = account_evidence(dataset, as_of=day, model=model or None, config=config,
                                    recent_days=book.recent_days, signals=signals)
    book, fired, listed, first = _fired(evidence, playbook)
    at = np.flatnonzero(listed)
    # the listed accounts' values as plain arrays: one dict per account, no row Series
    wanted = {*ACTION_COLUMNS, *_TEXT_COLUMNS, *(c.column for p in book.plays for c in p.when)}
    values = {c: evidence[c].to_numpy()[at] for c in evidence.columns if c in wanted}
    names, fires = list(fired.columns), fired.to_numpy()[at]
    rows = []
    for j, i in enumerate(at):
        play = book.plays[first[i]]
        others = [names[k] for k in np.flatnonzero(fires[j]) if names[k] != play.name]
        rows.append(_row({c: v[j] for c, v in values.items()}, play, others, day))
    out = pd.DataFrame(rows, columns=[*ACTION_COLUMNS, "_loss"])
    out = out.sort_values(["priority", "_loss", "customer_id"], ascending=[True, False, True],
                          na_position="last", kind="stable")
    out = out.drop(columns="_loss").reset_index(drop=True)
    out["due_date"] = pd.to_datetime(out["due_date"])
    return out


def action_backtest(dataset: Dataset, *, history: pd.DataFrame, model: ChurnModel,
                    playbook: Playbook | str | Path | dict | None = None,
                    customers: str = "held_out") -> pd.DataFrame:
    """Rebuild the action list on each past scoring day and measure who churned.

    Parameters
    ----------
    dataset : the loaded tables.
    history : :func:`~csm_kit.health.backtest.churn_history` (the model's history): the
        signals and churn labels of each scoring day.
    model : the churn model fitted on that history.
    playbook : as for :func:`action_list`.
    customers : ``held_out`` (default) judges only the customers the model never saw in
        training, so plays on the probability are not flattered; ``all`` every customer.

    Returns
    -------
    DataFrame group (each play, then ``all listed``, ``not listed``), customers
    (customer-dates), churned, churn_rate, lift (÷ the churn rate of every judged
    customer-date), share_of_churners. ``attrs["base_rate"]`` is that churn rate.
    """
    book = _playbook(playbook, None)
    tested = {c.column for play in book.plays for c in play.when}
    texts = bool(tested & _TEXT_COLUMNS)  # a play on a name or comment needs them built
    judged = model.held_out["customer_id"].drop_duplicates() if customers == "held_out" else None
    parts = []
    for day, rows in history.groupby("as_of", sort=True):
        evidence = account_evidence(dataset, as_of=day, model=model, signals=rows,
                                    recent_days=book.recent_days, texts=texts)
        book_now, _, listed, first = _fired(evidence, playbook)
        names = np.array([p.name for p in book_now.plays], dtype=object)
        play = pd.Series(names[first[listed]], index=evidence["customer_id"].to_numpy()[listed])
        frame = rows[["customer_id", "churned"]].assign(
            band=play.reindex(rows["customer_id"]).fillna("not listed").to_numpy())
        parts.append(frame if judged is None else frame[isin(frame["customer_id"], judged)])
    pooled = pd.concat(parts, ignore_index=True)
    listed = pooled.assign(band=np.where(pooled["band"] == "not listed", "not listed",
                                         "all listed"))
    table = pd.concat([_groups(pooled, [p.name for p in book.plays]),
                       _groups(listed, ["all listed", "not listed"])], ignore_index=True)
    table.attrs["base_rate"] = float(pooled["churned"].mean())
    return table


# --------------------------------------------------------------------------- helpers


def _playbook(playbook, columns) -> Playbook:
    return playbook if isinstance(playbook, Playbook) else load_playbook(playbook, columns=columns)


def _fired(evidence: pd.DataFrame, playbook) -> tuple[Playbook, pd.DataFrame, np.ndarray,
                                                      np.ndarray]:
    """The playbook checked against ``evidence``'s columns, which plays fire for each account
    (a column per play, in priority order), whether any does, and the first (most urgent)."""
    columns = list(EVIDENCE)
    columns += [c for c in evidence.columns if c not in columns]
    book = _playbook(playbook, columns)
    fired = pd.DataFrame({p.name: _fires(p, evidence) for p in book.plays}, index=evidence.index)
    return book, fired, fired.any(axis=1).to_numpy(), fired.to_numpy().argmax(axis=1)


def _fires(play: Play, evidence: pd.DataFrame) -> np.ndarray:
    ok = np.ones(len(evidence), dtype=bool)
    for condition in play.when:
        ok &= condition.holds(evidence[condition.column])
    return ok


def _row(account: dict, play: Play, others: list[str], day: pd.Timestamp) -> dict:
    """An account's row of the action list: its most urgent ``play``, the ``others`` fired."""
    quoted = "; ".join(f"{c.column} = {_quote(account[c.column])} ({c.describe()})"
                       for c in play.when)
    used = {c.column for c in play.when}
    comment = (account["recent_nps_comment"] if "recent_nps" in used else
               account["recent_csat_comment"] if "recent_csat" in used else
               account["latest_comment"])
    p, mrr = account["probability"], account["mrr"]
    return {"customer_id": account["customer_id"], "name": account["name"],
            "segment": account["segment"], "owner": account["owner"], "play": play.name,
            "action": play.play, "priority": play.priority,
            "due_date": day + pd.Timedelta(days=play.due_in_days), "evidence": quoted,
            "mrr": mrr, "probability": p, "band": account["band"], "score": account["score"],
            "comment": None if pd.isna(comment) else comment,
            "other_plays": ", ".join(others), "_loss": p * mrr}


def _quote(value) -> str:
    """A value as the evidence column shows it: whole numbers plainly, others to 2 decimals."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return "–"
    number = float(value)
    return f"{number:.0f}" if number == round(number) else f"{number:.2f}"


def _with_recent_answers(out: pd.DataFrame, surveys, day, recent_days: int, *,
                         comments: bool = True) -> pd.DataFrame:
    """recent_nps / recent_csat: the lowest answer in the window (the latest if tied), and
    (``comments``) its comment."""
    for survey in ("nps", "csat"):
        out[f"recent_{survey}"] = np.nan
        if comments:
            out[f"recent_{survey}_comment"] = pd.array([None] * len(out), dtype="str")
        if surveys is None:
            continue
        start = day - pd.Timedelta(days=recent_days - 1)
        window = surveys[(surveys["survey"] == survey) & surveys["score"].notna()
                         & (surveys["date"] >= start) & (surveys["date"] < day + pd.Timedelta(days=1))]
        lowest = window.sort_values(["customer_id", "score", "date"], ascending=[True, True, False],
                                    kind="stable").drop_duplicates("customer_id")
        lowest = lowest.set_index("customer_id")
        out[f"recent_{survey}"] = lowest["score"].reindex(out["customer_id"]).to_numpy()
        if comments and "comment" in lowest.columns:
            out[f"recent_{survey}_comment"] = pd.array(
                lowest["comment"].reindex(out["customer_id"]).to_numpy(), dtype="str")
    return out


def _with_latest_comment(out: pd.DataFrame, surveys, day) -> pd.DataFrame:
    out["latest_comment"] = pd.array([None] * len(out), dtype="str")
    out["latest_comment_date"] = pd.NaT
    if surveys is None or "comment" not in surveys.columns:
        return out
    start = day - pd.DateOffset(months=COMMENT_MONTHS) + pd.Timedelta(days=1)
    said = surveys[surveys["comment"].notna() & (surveys["comment"].astype("str").str.strip() != "")
                   & (surveys["date"] >= start) & (surveys["date"] < day + pd.Timedelta(days=1))]
    latest = said.sort_values("date", kind="stable").drop_duplicates("customer_id", keep="last")
    latest = latest.set_index("customer_id").reindex(out["customer_id"])
    out["latest_comment"] = pd.array(latest["comment"].to_numpy(), dtype="str")
    out["latest_comment_date"] = latest["date"].to_numpy()
    return out


def _next_renewal_arr(renewals, day) -> pd.Series:
    if renewals is None:
        return pd.Series(dtype="float64")
    ahead = renewals[renewals["due_date"] > day]
    if "renewed_on" in ahead.columns:
        ahead = ahead[~(ahead["renewed_on"] <= day)]
    first = ahead.sort_values("due_date", kind="stable").drop_duplicates("customer_id")
    return first.set_index("customer_id")["arr_due"].astype("float64")


def _groups(frame: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    base = frame["churned"].mean()
    grouped = frame.groupby("band")["churned"].agg(customers="size", churned="sum")
    grouped = grouped.reindex(order, fill_value=0).reset_index().rename(columns={"band": "group"})
    grouped["churn_rate"] = grouped["churned"] / grouped["customers"].replace(0, np.nan)
    grouped["lift"] = grouped["churn_rate"] / base
    grouped["share_of_churners"] = grouped["churned"] / max(int(frame["churned"].sum()), 1)
    return grouped
