"""Every KPI of the registry pinned: the column behind its value, n and interval, on 13 months.

One small company, January 2024 to January 2025, holding every table of the data contract,
read through ``load_dataset`` like a user's CSV folder. Each KPI's January 2025 row is worked
out by hand below (value, n and the 95% interval, or NaN where the registry exports none), so
a KPI wired to the wrong function, column or option (GRR fed by NRR, n taken from the wrong
count, a Wilson interval where none belongs) fails here.

A KPI added to :data:`csm_kit.kpis.KPIS` without a hand-worked entry in :data:`EXPECTED` fails
:func:`test_every_kpi_in_the_registry_has_a_hand_worked_expectation` — add its January 2025
figure with the arithmetic in a comment.

The intervals are computed here from their textbook formulas, independently of
:mod:`csm_kit.stats`: Wilson (1927) for proportions, the adjusted-Wald interval for NPS (Sauro &
Lewis, *Quantifying the User Experience*, 2nd ed., ch. 5: add 3 to n and ¾ to promoters and
detractors; for the change between two months, the same adjustment with the two variances
added), Student's t for a mean, and the ratio estimator's linearised variance for a ratio of
sums over customers (Cochran, *Sampling Techniques*, 3rd ed., §6.4, eq. 6.13, without the
finite-population correction).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, t

from csm_kit.data.loading import load_dataset
from csm_kit.kpis import KPIS, kpi_table
from tests.conftest import write_tables

Z = norm.ppf(0.975)  # 1.959964…, the two-sided 95% normal quantile
AS_OF = "2025-01-31"
PERIOD = "2025-01"

# Timeline (MRR at each month end; end_date is exclusive):
#   A  100 from Jan 2024, 150 from 1 Jul 2024 (expansion)            Jan 2025: 150
#   B  200 from Jan 2024, 120 from 10 Jan 2025 (contraction of 80)   Jan 2025: 120
#   C  100 from Jan 2024, ends 15 Jan 2025 (churn of 100)            Jan 2025:   0
#   D  100 from Jan 2024, ends 1 May 2024 (active at the end of April, churned in May),
#      back at 100 from 1 Sep 2024 (reactivation inside the 12-month window)  Jan 2025: 100
#   E   50 from Jun 2024 (new), 80 from 5 Jan 2025 (expansion of 30)         Jan 2025:  80
#   F   60 from 20 Jan 2025 (new)                                           Jan 2025:  60
#   G   40 from Mar 2024, ends 15 Nov 2024 (active at the end of October, churned in
#      November: in the three-month retention window only)                  Jan 2025:   0
# End of December 2024: A 150 + B 200 + C 100 + D 100 + E 50 = 600, five customers.
# End of January 2025:  A 150 + B 120 + D 100 + E 80 + F 60 = 510, five customers.
# January's bridge: 600 + new 60 + expansion 30 + reactivation 0 − contraction 80 − churn 100
# = 510.
TABLES = {
    "customers": """
customer_id,signup_date,name,segment,csm
A,2024-01-01,Alder,Mid-market,Ana
B,2024-01-01,Birch,Mid-market,Ana
C,2024-01-01,Cedar,Mid-market,Ben
D,2024-01-01,Dogwood,Mid-market,Ben
E,2024-06-01,Elm,Mid-market,Ana
F,2025-01-20,Fir,Mid-market,Ben
G,2024-03-01,Ginkgo,Mid-market,Ana
""",
    "subscriptions": """
subscription_id,customer_id,start_date,end_date,mrr
S-A1,A,2024-01-01,2024-07-01,100
S-A2,A,2024-07-01,,150
S-B1,B,2024-01-01,2025-01-10,200
S-B2,B,2025-01-10,,120
S-C1,C,2024-01-01,2025-01-15,100
S-D1,D,2024-01-01,2024-05-01,100
S-D2,D,2024-09-01,,100
S-E1,E,2024-06-01,2025-01-05,50
S-E2,E,2025-01-05,,80
S-F1,F,2025-01-20,,60
S-G1,G,2024-03-01,2024-11-15,40
""",
    # January 2025: orders A 100 and 50, B 30, C 40, and a refund of 20 to B (not an order).
    "transactions": """
transaction_id,customer_id,date,amount
T01,A,2024-01-15,80
T02,A,2025-01-03,100
T03,A,2025-01-20,50
T04,B,2025-01-08,30
T05,C,2025-01-09,40
T06,B,2025-01-25,-20
""",
    # January 2025: NPS A 10, D 9, F 9 (promoters), B 7 (passive), E 3 (detractor); CSAT A 5,
    # B 2, D 4, E 3; CES A 1, B 2, D 7. December 2024 (for the NPS change): NPS D 10 (promoter),
    # A 8 (passive), B 4 and C 2 (detractors). The other 2024 answers are outside every window;
    # A, B and D answered NPS again in January (their latest answer for health), C has left.
    "surveys": """
response_id,customer_id,date,survey,score,comment
R00,A,2024-01-20,nps,6,
R01,A,2024-03-05,csat,1,
R02,A,2025-01-10,nps,10,Great
R03,D,2025-01-11,nps,9,
R04,F,2025-01-25,nps,9,
R05,B,2025-01-12,nps,7,
R06,E,2025-01-13,nps,3,Slow
R07,A,2025-01-14,csat,5,
R08,B,2025-01-15,csat,2,
R09,D,2025-01-16,csat,4,
R10,E,2025-01-17,csat,3,
R11,A,2025-01-18,ces,1,
R12,B,2025-01-19,ces,2,
R13,D,2025-01-20,ces,7,
R14,A,2024-12-05,nps,8,
R15,B,2024-12-06,nps,4,
R16,C,2024-12-09,nps,2,
R17,D,2024-12-10,nps,10,
""",
    # Closed in January 2025 after 4 h (1 contact), 24 h (1), 72 h (3) and 2 h (1); B's ticket
    # opened on 20 December is still open at the end of January (open longer than 7 days).
    "tickets": """
ticket_id,customer_id,opened_at,closed_at,contacts
K0,C,2024-01-10T00:00:00,2024-01-11T00:00:00,1
K1,A,2025-01-02T09:00:00,2025-01-02T13:00:00,1
K2,D,2025-01-06T00:00:00,2025-01-07T00:00:00,1
K3,E,2025-01-10T00:00:00,2025-01-13T00:00:00,3
K4,B,2024-12-20T10:00:00,,
K5,F,2025-01-21T00:00:00,2025-01-21T02:00:00,1
""",
    # January 2025 seat adoption: A 8/10 = 0.8, B 3/10 = 0.3, D 5/10 = 0.5, E 1/4 = 0.25, F 2/2 = 1;
    # key-feature users of the active users: A 6/8, B 1/3, D 2/5, E 0/1, F 2/2.
    "usage": """
customer_id,month,active_users,licensed_seats,key_feature_users
A,2024-01-01,5,10,2
A,2025-01-01,8,10,6
B,2025-01-01,3,10,1
D,2025-01-01,5,10,2
E,2025-01-01,1,4,0
F,2025-01-01,2,2,2
""",
    # Due in January 2025: A 1,200 renewed at 1,800 (up-sell), B 2,400 renewed at 1,440
    # (down-sell), C 1,200 lost (0). B's and D's next contracts are due after January.
    "renewals": """
contract_id,customer_id,due_date,arr_due,renewed_on,arr_renewed
N0,A,2024-01-31,1000,2024-01-25,1200
N1,A,2025-01-15,1200,2025-01-10,1800
N2,B,2025-01-20,2400,2025-01-18,1440
N3,C,2025-01-15,1200,,0
N4,B,2025-02-20,1440,,
N5,D,2025-12-31,1200,,
""",
    "trials": """
trial_id,started_at,customer_id,converted_at
TR0,2024-01-05,,
TR1,2025-01-03,F,2025-01-19
TR2,2025-01-07,,
TR3,2025-01-12,,
TR4,2025-01-28,,
""",
    # January 2025: A twice, D, E and F referred; C too, but C has left by the month's end.
    "referrals": """
referral_id,referrer_customer_id,date,referred_customer_id
F0,A,2024-02-10,X1
F1,A,2025-01-05,X2
F2,A,2025-01-19,X3
F3,D,2025-01-22,X4
F4,E,2025-01-23,X5
F5,F,2025-01-24,X6
F6,C,2025-01-08,X7
""",
    "events": """
date,label
2024-06-15,Price change
""",
}


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval: (p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n)."""
    p = successes / n
    centre = p + Z**2 / (2 * n)
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return (centre - half) / (1 + Z**2 / n), (centre + half) / (1 + Z**2 / n)


def adjusted_wald_nps(promoters: int, detractors: int, n: int) -> tuple[float, float]:
    """p̃ = (P + ¾)/(n + 3), d̃ = (D + ¾)/(n + 3), var = (p̃ + d̃ − (p̃ − d̃)²)/(n + 3), in points."""
    p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
    half = Z * math.sqrt((p + d - (p - d) ** 2) / (n + 3))
    return 100 * (p - d - half), 100 * (p - d + half)


def adjusted_wald_nps_change(before: tuple[int, int, int], after: tuple[int, int, int]
                             ) -> tuple[float, float]:
    """(p̃₂ − d̃₂) − (p̃₁ − d̃₁) ± z √(var₁ + var₂), each month adjusted as above, in points."""
    def moments(promoters, detractors, n):
        p, d = (promoters + 0.75) / (n + 3), (detractors + 0.75) / (n + 3)
        return p - d, (p + d - (p - d) ** 2) / (n + 3)
    (nps_1, var_1), (nps_2, var_2) = moments(*before), moments(*after)
    half = Z * math.sqrt(var_1 + var_2)
    return 100 * (nps_2 - nps_1 - half), 100 * (nps_2 - nps_1 + half)


def ratio_of_sums_interval(ys: list[float], xs: list[float]) -> tuple[float, float]:
    """R = Σy / Σx ± z √(n / (Σx)² · Σ(y − R·x)² / (n − 1)), customers as the units."""
    n, ratio = len(xs), sum(ys) / sum(xs)
    residuals = sum((y - ratio * x) ** 2 for y, x in zip(ys, xs, strict=True))
    half = Z * math.sqrt(n / sum(xs) ** 2 * residuals / (n - 1))
    return ratio - half, ratio + half


def t_interval(values: list[float]) -> tuple[float, float]:
    """mean ± t(0.975, n − 1) · s / √n."""
    n, mean = len(values), sum(values) / len(values)
    s = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = t.ppf(0.975, n - 1) * s / math.sqrt(n)
    return mean - half, mean + half


NONE = (np.nan, np.nan)
#: metric -> (value, n, (ci_low, ci_high)) of the company-wide January 2025 row; NaN = not exported.
EXPECTED: dict[str, tuple[float, float, tuple[float, float]]] = {
    # End of January: A 150 + B 120 + D 100 + E 80 + F 60 = 510 from 5 customers.
    "mrr": (510.0, 5, NONE),
    "arr": (12 * 510.0, 5, NONE),  # 6,120
    "active_customers": (5, np.nan, NONE),  # the count is the value; no separate n
    "arpa": (510 / 5, 5, NONE),  # 102
    # 5 customers at the end of December (A, B, C, D, E); C left: 1 / 5.
    "logo_churn_rate": (1 / 5, 5, wilson(1, 5)),
    # The same five at the end of December; A, B, D, E are still active at the end of January:
    # 4 / 5 = 0.8 = 1 − the churn above. Wilson(4, 5) = (0.8 + 0.384 ∓ 0.520) / 1.768
    # = (0.376, 0.964) (z² = 3.841, z²/2n = 0.384, z √(0.16/5 + 3.841/100) = 0.520).
    "logo_retention_rate": (4 / 5, 5, wilson(4, 5)),
    # Three months: active at the end of October 2024 were A, B, C, D (back since September),
    # E and G = 6; at the end of January A, B, D, E are (C left in January, G in November):
    # 4 / 6 = 0.667.
    "logo_retention_rate_3m": (4 / 6, 6, wilson(4, 6)),
    # Twelve months: active at the end of January 2024 were A, B, C, D = 4 (E and G started
    # later); at the end of January 2025 A, B and D (gone May–August, but active at both
    # ends, so retained) are: 3 / 4.
    "logo_retention_rate_12m": (3 / 4, 4, wilson(3, 4)),
    # Active at the end of January 2024: A 100, B 200, C 100, D 100 = 500 (4 customers).
    # Their MRR at the end of January 2025: A 150 + B 120 + C 0 + D 100 (back after leaving in
    # May) = 370 -> NRR 370 / 500 = 0.74; E and F are new and never count.
    "net_revenue_retention": (370 / 500, 4, NONE),
    # A's 150 capped at its 100: (100 + 120 + 0 + 100) / 500 = 0.64.
    "gross_revenue_retention": (320 / 500, 4, NONE),
    # January: (churn 100 + contraction 80 − expansion 30) / start 600 = 0.25.
    "net_mrr_churn": (150 / 600, np.nan, NONE),
    # (churn 100 + contraction 80) / 600 = 0.3.
    "gross_mrr_churn": (180 / 600, np.nan, NONE),
    # (new 60 + expansion 30 + reactivation 0) / (churn 100 + contraction 80) = 0.5.
    "quick_ratio": (90 / 180, np.nan, NONE),
    # Smoothed: ARPA 102 ÷ the mean of the last six monthly churn rates, each the customers
    # leaving in the month over those active at the end of the month before: August 0/5 (A, B,
    # C, E, G; D gone since May), September 0/5, October 0/6 (D back), November 1/6 (G left),
    # December 0/5, January 1/5 (C): mean (1/6 + 1/5) / 6 = (11/30) / 6 = 11/180, so
    # LTV = 102 × 180 / 11 = 1,669.09. (Before G was added to pin the three-month retention it
    # was 102 ÷ ((1/5) / 6) = 3,060.)
    "ltv": (102 / ((1 / 6 + 1 / 5) / 6), np.nan, NONE),
    # January buyers A (2 orders), B (1; its refund is no order), C (1): 1 repeat of 3.
    "repeat_purchase_rate": (1 / 3, 3, wilson(1, 3)),
    # 4 orders ÷ 3 buying customers.
    "purchase_frequency": (4 / 3, 3, NONE),
    # Revenue net of the refund (100 + 50 + 30 + 40 − 20 = 200) ÷ 4 orders = 50; n = orders.
    "average_order_value": (200 / 4, 4, NONE),
    # The same net revenue 200 ÷ the 3 customers with an order (A, B, C; B's refund is netted,
    # B still bought) = 66.67 = average order value 50 × purchase frequency 4/3; n = customers.
    "average_customer_value": (200 / 3, 3, NONE),
    # 3 promoters, 1 passive, 1 detractor of 5: 100 × (3 − 1) / 5 = 40 points.
    "nps": (40.0, 5, adjusted_wald_nps(3, 1, 5)),
    # December: D promoter, A passive, B and C detractors: 100 × (1 − 2) / 4 = −25 points;
    # January 40, so the change is 40 − (−25) = +65 points, n = January's 5 answers. Interval
    # of the adjusted difference: January p̃ = 3.75/8 = 0.46875, d̃ = 1.75/8 = 0.21875,
    # var = (0.6875 − 0.0625) / 8 = 0.078125; December p̃ = 1.75/7 = 0.25, d̃ = 2.75/7 = 0.39286,
    # var = (0.64286 − 0.02041) / 7 = 0.08892; centre 0.25 − (−0.14286) = 0.39286,
    # half-width 1.96 × √0.16705 = 0.80106: (−40.8, 119.4) points (it is centred on the adjusted
    # difference, not on the raw 65).
    "nps_change": (65.0, 5, adjusted_wald_nps_change((1, 2, 4), (3, 1, 5))),
    # 5 and 4 are satisfied, 2 and 3 are not: 2 / 4.
    "csat": (2 / 4, 4, wilson(2, 4)),
    # Mean effort (1 + 2 + 7) / 3 = 3.33 with its t interval (s = √10.33, t(0.975, 2) = 4.303).
    "ces": (10 / 3, 3, t_interval([1, 2, 7])),
    # 1–7 scale, 1 = least effort (the default): low effort lies below the midpoint 4, so 1 and
    # 2 are low-effort answers, 7 is not: 2 / 3; no interval is exported.
    "ces_low_effort_share": (2 / 3, 3, NONE),
    # Closed in January: K1, K2, K5 with one contact, K3 with three: 3 / 4.
    "first_contact_resolution_rate": (3 / 4, 4, wilson(3, 4)),
    # Hours to close 2, 4, 24, 72: median (4 + 24) / 2 = 14; B's open ticket is not closed.
    "median_hours_to_close": (14.0, 4, NONE),
    # Due in January: A and B renewed, C lost: 2 / 3 contracts.
    "logo_renewal_rate": (2 / 3, 3, wilson(2, 3)),
    # min(1,800, 1,200) + min(1,440, 2,400) + 0 = 2,640 of 4,800 due.
    "gross_dollar_renewal": (2640 / 4800, 3, NONE),
    # 1,800 + 1,440 + 0 = 3,240 of 4,800.
    "net_dollar_renewal": (3240 / 4800, 3, NONE),
    # Four trials started in January, one (F) converted.
    "trial_conversion_rate": (1 / 4, 4, wilson(1, 4)),
    # Active at the end of January: A, B, D, E, F; A (twice), D, E, F referred; C's referral
    # does not count (C left): 4 / 5.
    "referral_rate": (4 / 5, 5, NONE),
    # At or above half the seats: A 0.8, D 0.5, F 1.0; not B 0.3, E 0.25: 3 / 5.
    "adoption_rate": (3 / 5, 5, NONE),
    # Key-feature users over active users, summed over the 5 customers with active users:
    # (6 + 1 + 2 + 0 + 2) / (8 + 3 + 5 + 1 + 2) = 11 / 19 = 0.5789; n = customers. Interval with
    # customers as the units: residuals y − R·x = 26/19, −14/19, −17/19, −11/19, 16/19 (they
    # sum to 0), Σ² = 1,538/361 = 4.2604; v = 5 / 19² × 4.2604 / 4 = 0.014752, se = 0.12146,
    # half-width 0.23806: (0.3409, 0.8170).
    "key_feature_adoption": (11 / 19, 5, ratio_of_sums_interval([6, 1, 2, 0, 2], [8, 3, 5, 1, 2])),
    # Health at the end of January (31 January 2025) by the packaged health.yaml. Mid-market
    # has no segment_weights, so the established weights are adoption .25, key feature .10,
    # NPS .15, CSAT .05, open tickets .05, MRR trend .10, renewal .15, touch .15; there is no
    # activities table, so touch is missing for everyone, and a missing signal's weight is
    # shared out among the others (missing: redistribute). Component maps: adoption linear
    # 0.2 -> 0 .. 0.8 -> 100; key feature linear 0.2 .. 0.7; NPS thresholds 0/7/9 -> 0/50/100;
    # CSAT linear 2.5 .. 4.5; open tickets 0/1/2/3 -> 100/60/30/0; MRR trend (now ÷ end of
    # October − 1) linear −0.25 .. 0; renewal days 0/30/60/90/180 -> 0/30/60/80/100. Red is
    # below 55, yellow below 70. F signed up 11 days ago (< 90): the onboarding profile.
    #   A: adoption 0.8 -> 100, key 6/8 = 0.75 -> 100, NPS 10 -> 100, CSAT 5 -> 100, no old
    #      ticket -> 100, 150/150 − 1 = 0 -> 100, no renewal ahead (left out): 100, green.
    #   B: adoption 0.3 -> 16.67, key 1/3 -> (0.333 − 0.2)/0.5 = 26.67, NPS 7 -> 50, CSAT 2 -> 0,
    #      one ticket open > 7 days -> 60, 120/200 − 1 = −0.4 -> 0, renewal in 20 days -> 0:
    #      (.25·16.67 + .1·26.67 + .15·50 + 0 + .05·60 + 0 + 0) / .85 = 17.33 / .85 = 20.4, red.
    #   D: adoption 0.5 -> 50, key 0.4 -> 40, NPS 9 -> 100, CSAT 4 -> 75, 100, 100/100 − 1 = 0
    #      -> 100, renewal in 334 days -> 100:
    #      (12.5 + 4 + 15 + 3.75 + 5 + 10 + 15) / .85 = 65.25 / .85 = 76.8, green.
    #   E: adoption 0.25 -> 8.33, key 0/1 -> 0, NPS 3 -> 0, CSAT 3 -> 25, 100, 80/50 − 1 = 0.6
    #      -> 100, no renewal: (2.08 + 0 + 0 + 1.25 + 5 + 10) / .70 = 18.33 / .7 = 26.2, red.
    #   F (onboarding: adoption thresholds 0/0.15/0.4 -> 60/75/100 weight .30, key 0/0.2/0.4 ->
    #      60/80/100 .10, NPS .15, open tickets .10, CSAT and touch missing): adoption 1 -> 100,
    #      key 2/2 -> 100, NPS 9 -> 100, no ticket -> 100: 100, green.
    # C left on 15 January and G in November: not scored. Red: B and E, 2 of 5.
    "red_health_share": (2 / 5, 5, wilson(2, 5)),
    # ARR of the red customers at the January month end: 12 × (B 120 + E 80) = 2,400; n = the
    # 2 red customers; no interval.
    "arr_at_risk": (12 * (120 + 80), 2, NONE),
}


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    return load_dataset(write_tables(tmp_path_factory.mktemp("thirteen_months"), TABLES))


@pytest.fixture(scope="module")
def table(company):
    return kpi_table(company, as_of=AS_OF)


def test_the_fixture_spans_thirteen_months_and_holds_every_table(company, table):
    assert all(getattr(company, name) is not None for name in TABLES)
    months = table.loc[(table["metric"] == "mrr") & table["group"].isna(), "period"]
    assert months.tolist() == [f"{m:%Y-%m}" for m in pd.date_range("2024-01", "2025-01", freq="MS")]
    assert set(table["metric"]) == {k.metric for k in KPIS}  # every KPI has its tables here


def test_every_kpi_in_the_registry_has_a_hand_worked_expectation():
    missing = [k.metric for k in KPIS if k.metric not in EXPECTED]
    assert not missing, (f"KPIs without a hand-worked January 2025 figure in {__name__}.EXPECTED: "
                         f"{missing}; add value, n and interval with the arithmetic")
    assert not set(EXPECTED) - {k.metric for k in KPIS}, "EXPECTED names a KPI the registry lacks"


@pytest.mark.parametrize("kpi", KPIS, ids=lambda k: k.metric)
def test_each_kpi_reports_its_hand_worked_value_n_and_interval(table, kpi):
    if kpi.metric not in EXPECTED:
        pytest.fail(f"{kpi.metric} has no hand-worked expectation in EXPECTED")
    value, n, (low, high) = EXPECTED[kpi.metric]
    row = table[(table["metric"] == kpi.metric) & table["group"].isna() & (table["period"] == PERIOD)]
    assert len(row) == 1, f"{kpi.metric}: expected one company-wide {PERIOD} row, got {len(row)}"
    got = row.iloc[0]
    assert got["value"] == pytest.approx(value, rel=1e-9), kpi.metric
    assert got["n"] == pytest.approx(n, nan_ok=True), f"{kpi.metric}: n"
    assert got["ci_low"] == pytest.approx(low, rel=1e-6, nan_ok=True), f"{kpi.metric}: ci_low"
    assert got["ci_high"] == pytest.approx(high, rel=1e-6, nan_ok=True), f"{kpi.metric}: ci_high"


def test_the_by_segment_rows_of_a_single_segment_equal_the_company_rows(company, table):
    # Every customer is Mid-market, so each groupable KPI's segment row is the company row.
    by = kpi_table(company, as_of=AS_OF, by="segment")
    company_rows = by[by["group"].isna() & (by["period"] == PERIOD)].set_index("metric")
    segment_rows = by[(by["group"] == "Mid-market") & (by["period"] == PERIOD)].set_index("metric")
    groupable = [k.metric for k in KPIS if k.groupable]
    assert sorted(segment_rows.index) == sorted(groupable)
    columns = ["value", "n", "ci_low", "ci_high"]
    pd.testing.assert_frame_equal(segment_rows.loc[groupable, columns],
                                  company_rows.loc[groupable, columns])


def _matches(row: pd.Series, expected) -> bool:
    value, n, (low, high) = expected
    return (row["value"] == pytest.approx(value, rel=1e-9)
            and row["n"] == pytest.approx(n, nan_ok=True)
            and row["ci_low"] == pytest.approx(low, rel=1e-6, nan_ok=True)
            and row["ci_high"] == pytest.approx(high, rel=1e-6, nan_ok=True))


def _rewirings(kpi, frame):
    """Every one-field change of a registry entry: another value or n column, the interval
    switched on or off, another KPI's function on the same tables."""
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    for column in numeric:
        if column != kpi.value:
            yield f"value={column}", replace(kpi, value=column)
    for column in [None, *numeric]:
        if column != kpi.n:
            yield f"n={column}", replace(kpi, n=column)
    if "ci_low" in frame.columns:
        yield f"ci={not kpi.ci}", replace(kpi, ci=not kpi.ci)
    for other in KPIS:
        if other.tables == kpi.tables and other.compute is not kpi.compute:
            yield f"compute of {other.metric}", replace(kpi, compute=other.compute)


def test_the_pins_catch_every_one_field_rewiring_of_the_registry(company):
    # The registry is data, not code a mutation tool rewrites: this is its mutation test. Each
    # rewired entry's January row must differ from the hand-worked one (or fail to compute).
    from csm_kit.kpis import _long

    as_of = pd.Timestamp(AS_OF)
    survivors = []
    for kpi in KPIS:
        frame = kpi.compute(company, as_of=as_of, by=None)
        for change, rewired in _rewirings(kpi, frame):
            try:
                rewired_frame = frame if rewired.compute is kpi.compute else \
                    rewired.compute(company, as_of=as_of, by=None)
                rows = _long(rewired, rewired_frame, None)
            except (KeyError, ValueError, TypeError):
                continue  # the rewired entry cannot even compute: caught
            row = rows[rows["period"] == PERIOD]
            if len(row) == 1 and _matches(row.iloc[0], EXPECTED[kpi.metric]):
                survivors.append(f"{kpi.metric}: {change}")
    assert sorted(survivors) == sorted(EQUIVALENT_REWIRINGS), survivors


#: Rewirings that give the same January figure on any dataset holding these tables, with why.
EQUIVALENT_REWIRINGS = [
    # Every customer active at the month end has at least the open-tickets signal (0 when the
    # tickets table is present), so the customers scored for the red share (and for the ARR at
    # risk, the same computation) are the active ones.
    "active_customers: compute of red_health_share",
    "active_customers: compute of arr_at_risk",
]
