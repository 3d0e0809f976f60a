"""csm-kit: customer-success analytics you can explain.

Load a dataset (``load_dataset`` / ``load_sample``), then call the metric functions; every
one documents its formula and edge rules. Charts live in :mod:`csm_kit.plotting`. See
README.md and data/README.md.
"""

from csm_kit.adoption import adoption, adoption_rate, key_feature_adoption
from csm_kit.churn import logo_churn_rate, logo_retention_rate
from csm_kit.cohorts import average_retention_curve, cohort_retention, cohort_table
from csm_kit.comment_themes import (
    churn_by_theme,
    comment_themes,
    load_themes,
    theme_counts,
    theme_quotes,
)
from csm_kit.data.loading import Dataset, load_dataset, load_sample, read_mapping
from csm_kit.data.quality import data_quality
from csm_kit.data.survey_settings import SurveySettings, survey_settings
from csm_kit.differences import compare_definitions, explain_difference
from csm_kit.errors import (
    ConfigError,
    CsmKitError,
    DataContractError,
    DataSourceError,
    ReportError,
)
from csm_kit.headlines import headline
from csm_kit.health.actions import action_backtest, action_list
from csm_kit.health.backtest import BacktestResult, backtest, churn_history
from csm_kit.health.forecast import (
    renewal_forecast,
    renewal_forecast_and_backtest,
    renewal_forecast_backtest,
)
from csm_kit.health.probability import churn_probability, fit_churn_model
from csm_kit.health.scores import distress_scores, health_scores, load_health_config
from csm_kit.health.signals import customer_signals
from csm_kit.kpis import KPIS, kpi_table
from csm_kit.ltv import lifetime_value
from csm_kit.nps_churn import churn_by_nps_category
from csm_kit.purchases import (
    average_customer_value,
    average_order_value,
    purchase_frequency,
    repeat_purchase_rate,
)
from csm_kit.renewals import (
    referral_rate,
    renewal_rates,
    trailing_renewal_rates,
    trial_conversion,
)
from csm_kit.report.context import ReportContext, open_report
from csm_kit.report.digest import monthly_digest
from csm_kit.revenue import (
    average_sale_price,
    customer_months,
    mrr_bridge,
    mrr_movements,
    mrr_summary,
)
from csm_kit.revenue_retention import (
    expansion_mrr,
    gross_mrr_churn,
    gross_revenue_retention,
    net_mrr_churn,
    net_revenue_retention,
    quick_ratio,
)
from csm_kit.satisfaction import (
    ces,
    csat,
    nps,
    nps_categories,
    nps_change,
)
from csm_kit.support import (
    backlog_by_period,
    first_contact_resolution,
    support_breakdown,
    ticket_backlog,
    time_to_close,
)
from csm_kit.survey_trends import nps_changes, survey_scores
from csm_kit.survival import logrank_test, median_lifetime, survival_curve
from csm_kit.targets import load_targets, target_status
from csm_kit.team import arr_by_band, at_risk_accounts, csm_scorecard
from csm_kit.upcoming_renewals import renewals_due_summary, upcoming_renewals

__version__ = "0.1.0"

__all__ = [
    "KPIS", "BacktestResult", "ConfigError", "CsmKitError", "DataContractError",
    "DataSourceError", "Dataset", "ReportContext", "ReportError",
    "adoption", "adoption_rate", "arr_by_band", "at_risk_accounts", "average_customer_value",
    "average_order_value", "average_retention_curve", "backtest", "ces", "churn_by_nps_category",
    "cohort_retention", "cohort_table", "csat", "csm_scorecard", "customer_months",
    "customer_signals", "data_quality", "distress_scores", "expansion_mrr",
    "first_contact_resolution", "gross_mrr_churn", "gross_revenue_retention", "headline",
    "health_scores", "kpi_table", "lifetime_value", "load_dataset", "load_health_config",
    "load_sample", "load_targets", "logo_churn_rate", "logrank_test", "median_lifetime",
    "mrr_bridge", "mrr_movements", "mrr_summary", "net_mrr_churn", "net_revenue_retention",
    "nps", "nps_categories", "nps_change", "open_report", "purchase_frequency", "quick_ratio",
    "read_mapping", "referral_rate", "renewal_rates", "repeat_purchase_rate", "survival_curve",
    "target_status", "ticket_backlog", "time_to_close", "trial_conversion",
    # risk and actions (issue 14)
    "action_backtest", "action_list", "churn_history", "churn_probability", "fit_churn_model",
    "monthly_digest", "renewal_forecast", "renewal_forecast_backtest",
    "renewal_forecast_and_backtest",
    # issue 13: renewals, support and adoption; survey settings; comment themes
    "SurveySettings", "backlog_by_period", "churn_by_theme", "comment_themes",
    "key_feature_adoption", "load_themes", "logo_retention_rate", "nps_changes",
    "renewals_due_summary", "support_breakdown", "survey_scores", "survey_settings",
    "theme_counts", "theme_quotes", "trailing_renewal_rates", "upcoming_renewals",
    # definition presets and "why do my numbers differ" (docs/presets.md)
    "average_sale_price", "compare_definitions", "explain_difference",
]
