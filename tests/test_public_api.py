"""The public surface survives the package layout: every name users imported still imports.

The lists below are ``csm_kit.__all__`` and ``csm_kit.plotting.__all__`` as they were before
the machinery moved into folders (commit e1c3b29), and the metric modules whose import paths
users and notebooks rely on. Names may be added; none of these may disappear.
"""

import importlib

import pytest

import csm_kit
from csm_kit import plotting

BEFORE_THE_LAYOUT = [
    "KPIS", "BacktestResult", "ConfigError", "CsmKitError", "DataContractError",
    "DataSourceError", "Dataset", "ReportContext", "ReportError", "adoption", "adoption_rate",
    "at_risk_accounts", "average_customer_value", "average_order_value",
    "average_retention_curve", "backtest", "ces", "churn_by_nps_category", "cohort_retention",
    "cohort_table", "csat", "csm_scorecard", "customer_months", "customer_signals",
    "data_quality", "distress_scores", "expansion_mrr", "first_contact_resolution",
    "gross_mrr_churn", "gross_revenue_retention", "headline", "health_scores", "kpi_table",
    "lifetime_value", "load_dataset", "load_health_config", "load_sample", "load_targets",
    "logo_churn_rate", "logrank_test", "median_lifetime", "mrr_bridge", "mrr_movements",
    "mrr_summary", "net_mrr_churn", "net_revenue_retention", "nps", "nps_categories",
    "nps_change", "open_report", "purchase_frequency", "quick_ratio", "read_mapping",
    "referral_rate", "renewal_rates", "repeat_purchase_rate", "survival_curve",
    "target_status", "ticket_backlog", "time_to_close", "trial_conversion",
]
PLOTTING_BEFORE = [
    "BAND_COLOURS", "CHART_STYLE", "MOVEMENT_COLOURS", "NPS_COLOURS", "PALETTE",
    "plot_cohort_heatmap", "plot_distribution", "plot_health_bands", "plot_mrr_bridge",
    "plot_intervals", "plot_mrr_movements", "plot_survival", "plot_trend", "safe_label",
]
METRIC_MODULES = [
    "churn", "cohorts", "revenue", "revenue_retention", "survival", "ltv", "purchases",
    "satisfaction", "support", "renewals", "adoption", "team", "targets", "kpis",
]


@pytest.mark.parametrize("name", BEFORE_THE_LAYOUT)
def test_every_name_exported_before_the_layout_still_imports_from_csm_kit(name):
    assert name in csm_kit.__all__
    assert getattr(csm_kit, name) is not None


@pytest.mark.parametrize("name", PLOTTING_BEFORE)
def test_every_chart_name_still_imports_from_csm_kit_plotting(name):
    assert name in plotting.__all__
    value = getattr(plotting, name)
    assert callable(value) if name.startswith(("plot_", "safe_")) else value is not None


@pytest.mark.parametrize("module", METRIC_MODULES)
def test_the_metric_modules_keep_their_top_level_import_paths(module):
    assert importlib.import_module(f"csm_kit.{module}").__name__ == f"csm_kit.{module}"


def test_every_name_in_all_resolves():
    for namespace in (csm_kit, plotting):
        missing = [n for n in namespace.__all__ if not hasattr(namespace, n)]
        assert missing == []
