"""Shared fixtures: small CSV folders written on the fly."""

from __future__ import annotations

from pathlib import Path

import pytest


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
