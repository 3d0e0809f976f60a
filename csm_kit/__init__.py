"""csm-kit: customer-success analytics you can explain.

Load a dataset (``load_dataset`` / ``load_sample``), then call the metric functions; every
one documents its formula and edge rules. See README.md and data/README.md.
"""

from csm_kit.errors import (
    ConfigError,
    CsmKitError,
    DataContractError,
    DataSourceError,
    ReportError,
)
from csm_kit.loading import Dataset, load_dataset, load_sample, read_mapping
from csm_kit.quality import data_quality

__version__ = "0.1.0"

__all__ = [
    "ConfigError", "CsmKitError", "DataContractError", "DataSourceError", "ReportError",
    "Dataset", "load_dataset", "load_sample", "read_mapping", "data_quality",
]
