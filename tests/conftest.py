"""Shared test helpers: small CSV folders written on the fly, and :func:`require` for tests
that need a program or service the machine may lack.

The suite-wide rules (each test leaves the environment, working directory and engine cache as
it found them; notebook cells stay in order under pytest-randomly) are in the root conftest.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest


def in_ci() -> bool:
    """True when the ``CI`` environment variable is set to anything but empty, 0 or false."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(what: str, found, *, install: str):
    """Skip when a test dependency is missing on a developer's machine; fail under ``CI``.

    ``found`` is the dependency when present (a path, a module spec, ``True``) and falsy when
    missing; it is returned as it is. ``.ci/run`` installs every dependency, so a missing one
    there is a broken build, never a green run that skipped the test. Call it from a fixture
    (or a test), not at module level, so that under CI each test that needs the dependency
    fails on its own instead of the module failing to collect and stopping the whole run::

        JAVA = which("java")

        @pytest.fixture(autouse=True, scope="module")
        def _java():
            require("a Java runtime", JAVA, install="apt-get install default-jre-headless")

    The same fits any service a test module needs (PostgreSQL: ``require("PostgreSQL",
    which("pg_ctl", "postgres"), install="apt-get install postgresql")``).

    Parameters
    ----------
    what : the dependency in words ("Chromium", "a Java runtime", "PostgreSQL").
    found : the dependency if present, falsy if missing.
    install : how to install it, shown in the skip or failure message.
    """
    if found:
        return found
    message = f"{what} is missing (install: {install})"
    if in_ci():
        pytest.fail(f"{message}; CI is set, so this fails instead of skipping: .ci/run must "
                    "install it", pytrace=False)
    pytest.skip(message)


def which(*programs: str) -> str | None:
    """The path of the first of ``programs`` on PATH, or None."""
    return next((path for path in map(shutil.which, programs) if path), None)


def write_tables(folder: Path, tables: dict[str, str]) -> Path:
    """Write ``{table: csv text}`` as ``<table>.csv`` files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text.strip() + "\n")
    return folder


GOOD_TABLES = {
    "customers": """
customer_id,signup_date,name,segment,csm
00123,2024-01-05,Acme Corp,SMB,Ana
00124,2024-02-10,Beta LLC,Enterprise,Ben
""",
    "subscriptions": """
subscription_id,customer_id,start_date,end_date,mrr,plan
S1,00123,2024-01-05,,100,Pro
S2,00124,2024-02-10,2024-06-01,250.50,Team
""",
    "surveys": """
response_id,customer_id,date,survey,score,comment
R1,00123,2024-03-01,NPS,9,Great
R2,00124,2024-03-02,csat,4,
""",
    "tickets": """
ticket_id,customer_id,opened_at,closed_at,contacts,first_contact_resolved
T1,00123,2024-03-01T10:00:00Z,2024-03-01T23:30:00-02:00,1,yes
""",
}


@pytest.fixture
def good_folder(tmp_path: Path) -> Path:
    return write_tables(tmp_path / "good", GOOD_TABLES)


@pytest.fixture
def small():
    """Three customers over three months, for the KPI table and the headline tests.

    A, B, C from January at 100 each; B leaves at the end of February (end 2024-03-01).
    End of Jan: 3 customers, MRR 300. End of Feb: 3, 300. End of Mar: 2, 200.
    """
    from csm_kit.data.loading import Dataset

    customers = pd.DataFrame({"customer_id": ["A", "B", "C"],
                              "signup_date": pd.to_datetime(["2024-01-01"] * 3),
                              "segment": ["SMB", "SMB", "Enterprise"]})
    subscriptions = pd.DataFrame({
        "subscription_id": ["S1", "S2", "S3"], "customer_id": ["A", "B", "C"],
        "start_date": pd.to_datetime(["2024-01-01"] * 3),
        "end_date": pd.to_datetime([None, "2024-03-01", None]), "mrr": [100.0] * 3})
    return Dataset(customers=customers, subscriptions=subscriptions)
