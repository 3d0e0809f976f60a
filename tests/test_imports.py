"""`import csm_kit` leaves the heavy libraries for the functions that use them (issue 18): each
notebook kernel and each CLI call pays for an import, and statsmodels alone costs about a
second. Checked in a fresh interpreter, so the test process's own imports do not count."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("statsmodels", "scipy.stats", "pandera", "seaborn", "pyspark", "polars", "sklearn")


def test_importing_the_kit_imports_none_of_the_heavy_libraries():
    code = ("import json, sys; import csm_kit; "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert json.loads(loaded) == []
