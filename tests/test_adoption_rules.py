"""Key-feature adoption: what the error says when the usage table lacks the column.

Pins what the mutation run (issue #17) found unpinned: the whole message, which tells the
user which column is missing, why it is needed and how to map it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from csm_kit.adoption import key_feature_adoption
from csm_kit.errors import ConfigError


def test_key_feature_adoption_without_the_column_says_which_column_and_how_to_map_it():
    usage = pd.DataFrame({"customer_id": ["a"], "month": pd.to_datetime(["2024-01-01"]),
                          "active_users": [10], "licensed_seats": [10]})
    with pytest.raises(ConfigError) as raised:
        key_feature_adoption(usage)
    assert str(raised.value) == (
        "usage has no key_feature_users column; key-feature adoption needs the active users "
        "of the key feature (map your column to key_feature_users)")
