"""Data in: the contract every table must meet, reading sources, parsing text to types, quality checks.

- :mod:`~csm_kit.data.contract` — the canonical tables, their columns and rules (pandera);
- :mod:`~csm_kit.data.parsing` — raw text to the contract's types, every unparseable value reported;
- :mod:`~csm_kit.data.loading` — a source read table by table through the YAML mapping, every
  problem of every table collected, and the :class:`~csm_kit.data.loading.Dataset` every metric reads;
- :mod:`~csm_kit.data.sources` — folders of CSV/Parquet, DuckDB files and SQL URLs, and which
  mapping keys each can apply;
- :mod:`~csm_kit.data.quality` — soft problems (orphan ids, stale tables, partial months...);
- :mod:`~csm_kit.data.config_files` — the one YAML reader for mappings, targets and health configs;
- :mod:`~csm_kit.data.readers` — CSV exports as tools write them (encoding, delimiter, title lines);
- :mod:`~csm_kit.data.file_problems` — broken files (empty, binary, extra fields, wrong separator,
  a column named twice), named with their line numbers;
- :mod:`~csm_kit.data.values` — money and dates as exports write them, to plain numbers and ISO;
- :mod:`~csm_kit.data.mapping` — the mapping: where tables are, reading options, derived columns;
- :mod:`~csm_kit.data.mapping_file` — reading and checking a mapping file, every problem named;
- :mod:`~csm_kit.data.expressions` — the DuckDB SQL expressions derived columns are written in;
- :mod:`~csm_kit.data.recipes` — packaged mappings for Stripe, Zendesk, SurveyMonkey, HubSpot...;
- :mod:`~csm_kit.data.drafting` — ``csm-kit init``: recognise exports, draft a mapping;
- :mod:`~csm_kit.data.validator` — wrong money and wrong joins; exchange rates.

May import the shared base (errors, periods, privacy) and the sample generator; never a metric.
"""
