"""One dataset per report run: the validated data and shared tables, written once, read by every notebook.

``csm-kit report`` loads and validates the data once, with every option (mapping, time zone,
segment, privacy, ...), computes the tables several notebooks share (health scores, KPIs, the
churn history and churn model), and writes the resulting
:class:`~csm_kit.report.context.ReportContext` to a *snapshot*: a folder
``snapshot-<fingerprint>`` in the run's private temporary folder holding one Arrow IPC
(Feather) file per table and ``snapshot.json`` for everything else. Each notebook gets the
folder as its ``snapshot`` parameter, and ``open_report(..., snapshot=snapshot)`` reads it back
instead of loading the source again. So:

- every notebook of a run sees exactly the data the index page and the exports were made from
  (replacing the source during the run changes nothing), and the manifest's fingerprint is the
  snapshot's;
- no kernel reads CSVs, validates or computes the shared tables again, and each reads only the
  tables it uses (memory-mapped, uncompressed: reading is little more than mapping the file).

The folder is deleted when the run ends (published notebooks keep the path as a parameter;
rerun one with ``snapshot = None`` to load the data afresh). A notebook opened in JupyterLab
keeps ``snapshot = None`` and loads the data itself, through the same ``open_report``.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from pathlib import Path
from typing import Any

import pandas as pd

from csm_kit.data.contract import TABLES
from csm_kit.data.loading import Dataset
from csm_kit.data.survey_settings import SurveySettings
from csm_kit.errors import ConfigError

SNAPSHOT_VERSION = 1
META_FILE = "snapshot.json"
#: ReportContext fields kept in snapshot.json as the options the snapshot was made with.
OPTION_FIELDS = ("months", "segment", "privacy", "min_group_size")


class _TableFile:
    """A table in the snapshot that has not been read yet."""

    def __init__(self, path: Path, list_columns: tuple[str, ...] = ()):
        self.path = path
        self.list_columns = list_columns

    def read(self) -> pd.DataFrame:
        return read_frame(self.path, self.list_columns)


class _ModelFile(_TableFile):
    """The run's churn model (:class:`~csm_kit.health.probability.ChurnModel`), not read yet:
    its frames are files ``model-<part>.arrow``, its numbers in ``snapshot.json``."""

    def __init__(self, folder: Path, stored: dict):
        super().__init__(folder)
        self.stored = stored

    def read(self):
        from csm_kit.health.config import load_health_config
        from csm_kit.health.probability import ChurnModel

        frames = {part: read_frame(self.path / f"model-{part}.arrow", tuple(lists))
                  for part, lists in self.stored["frames"].items()}
        return ChurnModel.from_parts(frames, _decode(self.stored["values"]),
                                     load_health_config(None))


def read_on_first_use(owner, name: str):
    """``owner.name``; a snapshot table not read yet is read now and kept in its place (the
    ``__getattribute__`` of a snapshot's dataset and context)."""
    value = object.__getattribute__(owner, name)
    if isinstance(value, _TableFile):
        value = value.read()
        object.__setattr__(owner, name, value)
    return value


class SnapshotDataset(Dataset):
    """A :class:`~csm_kit.data.loading.Dataset` whose tables are read from a snapshot when first
    used; the latest date and the fingerprint were recorded when it was written."""

    def __getattribute__(self, name: str):
        return read_on_first_use(self, name)

    def latest_date(self) -> pd.Timestamp | None:
        """The most recent activity date, as recorded in the snapshot."""
        return self.__dict__.get("_latest", Dataset.latest_date(self))

    def fingerprint(self) -> str:
        """The fingerprint of the dataset the snapshot was written from."""
        return self.__dict__.get("_fingerprint") or Dataset.fingerprint(self)


# --------------------------------------------------------------------------- frames


def write_frame(frame: pd.DataFrame, path: Path) -> tuple[str, ...]:
    """Write a DataFrame as an uncompressed Arrow IPC file; return its list-valued columns.

    Columns holding Python lists (e.g. the data-quality ``examples``) come back as lists.
    """
    import pyarrow as pa
    import pyarrow.feather as feather

    frame = frame.copy(deep=False)
    frame.attrs = {}  # parsing masks: used by validation only, not serialisable
    table = pa.Table.from_pandas(frame, preserve_index=False)
    lists = tuple(f.name for f in table.schema if pa.types.is_list(f.type)
                  or pa.types.is_large_list(f.type))
    feather.write_feather(table, str(path), compression="uncompressed")
    return lists


def read_frame(path: Path, list_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a frame written by :func:`write_frame` (memory-mapped)."""
    import pyarrow.feather as feather

    table = feather.read_table(str(path), memory_map=True)
    frame = table.to_pandas(split_blocks=True, date_as_object=False)
    for column in list_columns:
        frame[column] = pd.Series(table.column(column).to_pylist(), index=frame.index,
                                  dtype="object")
    return frame


# --------------------------------------------------------------------------- plain values


def _encode(value: Any, what: str) -> Any:
    """JSON for the snapshot's plain values, keeping tuples and timestamps apart."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return {"__float__": repr(value)} if isinstance(value, float) and not math.isfinite(value) \
            else value
    if hasattr(value, "item") and not isinstance(value, pd.Timestamp):  # numpy scalars
        return _encode(value.item(), what)
    if isinstance(value, pd.Timestamp):
        return {"__timestamp__": value.isoformat()}
    if isinstance(value, SurveySettings):
        return {"__survey_settings__": _encode(value.as_dict(), what)}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, what) for v in value]}
    if isinstance(value, list):
        return [_encode(v, what) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, what) for k, v in value.items()}}
    raise ConfigError(f"{what} holds a {type(value).__name__}, which a report snapshot cannot "
                      "store; teach csm_kit.report.snapshot to write it")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__timestamp__" in value:
            return pd.Timestamp(value["__timestamp__"])
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        if "__float__" in value:
            return float(value["__float__"])
        if "__survey_settings__" in value:
            return SurveySettings.from_dict(_decode(value["__survey_settings__"]))
        if "__dict__" in value:
            return {k: _decode(v) for k, v in value["__dict__"].items()}
    return value


# --------------------------------------------------------------------------- snapshot


def write_snapshot(ctx, folder: Path, *, options: dict[str, Any] | None = None) -> Path:
    """Write a report context (dataset, settled options, shared tables) under ``folder``.

    Parameters
    ----------
    ctx : :class:`~csm_kit.report.context.ReportContext`
        What the notebooks will see: its dataset (already filtered and pseudonymised), as-of
        month, options, targets, data-quality findings, and the shared tables it has computed
        (health scores, KPIs, ...) and its churn model (when fitted with the packaged health
        configuration).
    folder : Path
        The run's temporary folder; ``snapshot-<fingerprint>`` is created in it.
    options : dict, optional
        The source options the context was opened with (data, mapping, targets), recorded so
        that a notebook given other ones is told instead of silently shown this data.

    Returns
    -------
    Path
        The snapshot folder, to pass to ``open_report(snapshot=...)``.
    """
    dataset = ctx.dataset
    fingerprint = dataset.fingerprint()
    target = Path(folder) / f"snapshot-{fingerprint}"
    target.mkdir(parents=True, exist_ok=False)
    tables, frames, values = {}, {}, {}
    for f in fields(Dataset):
        value = getattr(dataset, f.name)
        if f.name in TABLES:
            if value is not None:
                tables[f.name] = list(write_frame(value, target / f"table-{f.name}.arrow"))
        else:
            values[f.name] = _encode(value, f"Dataset.{f.name}")
    context, models = {}, {}
    for f in fields(ctx):
        if f.name in ("dataset", "_noted"):
            continue
        value = getattr(ctx, f.name)
        if isinstance(value, pd.DataFrame):
            frames[f.name] = list(write_frame(value, target / f"frame-{f.name}.arrow"))
        elif value is None and f.name.startswith("_"):
            continue
        elif f.name == "_churn_model":
            model = _write_model(value, target)
            if model is not None:
                models[f.name] = model
        else:
            context[f.name] = _encode(value, f"ReportContext.{f.name}")
    meta = {
        "version": SNAPSHOT_VERSION,
        "fingerprint": fingerprint,
        "latest_date": _encode(dataset.latest_date(), "latest date"),
        "tables": tables,
        "dataset": values,
        "frames": frames,
        "context": context,
        "models": models,
        "options": _encode(dict(options or {}), "options"),
    }
    (target / META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return target


def _write_model(model, target: Path) -> dict | None:
    """Write a churn model's frames beside the tables; its entry of ``snapshot.json`` (None
    for a model of another health configuration than the packaged one, which a notebook
    fits again: the snapshot records the packaged configuration only)."""
    from csm_kit.health.config import load_health_config

    if model.config != load_health_config(None):
        return None
    frames, values = model.parts()
    return {"frames": {part: list(write_frame(frame, target / f"model-{part}.arrow"))
                       for part, frame in frames.items()},
            "values": _encode(values, "ChurnModel")}


def read_meta(path: str | Path) -> dict:
    """The snapshot's ``snapshot.json``, checked; ConfigError naming the fix when it is gone."""
    folder = Path(path)
    meta_file = folder / META_FILE
    if not meta_file.is_file():
        raise ConfigError(f"snapshot {folder} does not exist (a report run deletes its snapshot "
                          "when it finishes); set snapshot = None to load the data itself")
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("version") != SNAPSHOT_VERSION:
        raise ConfigError(f"snapshot {folder} was written by another csm-kit version "
                          f"(format {meta.get('version')!r}, this one reads {SNAPSHOT_VERSION}); "
                          "set snapshot = None to load the data itself")
    return meta


def read_snapshot(path: str | Path) -> tuple[SnapshotDataset, dict[str, Any], dict[str, Any]]:
    """Read a snapshot written by :func:`write_snapshot`.

    Returns the dataset (its tables are read when first used), the context's other fields by
    name (the shared tables, fields named ``_...``, as files that the snapshot's context reads
    on first use: :func:`csm_kit.report.context.open_report` with ``snapshot=`` rebuilds it),
    and the options it was made with.
    """
    folder = Path(path)
    meta = read_meta(folder)
    tables = {name: _TableFile(folder / f"table-{name}.arrow", tuple(lists))
              for name, lists in meta["tables"].items()}
    dataset = SnapshotDataset(**tables, **{k: _decode(v) for k, v in meta["dataset"].items()})
    dataset.__dict__["_latest"] = _decode(meta["latest_date"])
    dataset.__dict__["_fingerprint"] = meta["fingerprint"]
    values = {k: _decode(v) for k, v in meta["context"].items()}
    # the shared tables (health, signals, KPIs ...) are read when a notebook first uses them
    values.update({k: _TableFile(folder / f"frame-{k}.arrow", tuple(lists))
                   if k.startswith("_") else read_frame(folder / f"frame-{k}.arrow", tuple(lists))
                   for k, lists in meta["frames"].items()})
    values.update({k: _ModelFile(folder, stored) for k, stored in meta.get("models", {}).items()})
    return dataset, values, _decode(meta["options"])
