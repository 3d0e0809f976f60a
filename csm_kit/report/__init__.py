"""Reports: running the notebooks, the index page, HTML, exports, and helpers notebooks display with.

- :mod:`~csm_kit.report.context` and :mod:`~csm_kit.report.display` — what a notebook calls to
  load its data once and show escaped tables, sentences and notes;
- :mod:`~csm_kit.report.runner` — ``run_reports``: papermill, one kernel per worker, reset
  between its notebooks (:mod:`~csm_kit.report.kernels`);
  :mod:`~csm_kit.report.parameters` checks what is passed in, :mod:`~csm_kit.report.progress`
  shows how it goes and :mod:`~csm_kit.report.results` records how each notebook went;
- :mod:`~csm_kit.report.html` — notebook and index pages, sanitised, with no CDN assets;
- :mod:`~csm_kit.report.manifest` and :mod:`~csm_kit.report.publish` — a folder's records and
  how it replaces (or does not replace) the previous report;
- :mod:`~csm_kit.report.exports` — CSV/XLSX/JSON tables safe from formula injection.

The top of the machinery: may import everything below it (KPIs, health, metrics, data), never
the CLI.
"""
