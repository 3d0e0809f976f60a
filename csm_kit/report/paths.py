"""What a command will read and write, checked before any work: output folders and files, notebooks.

``csm-kit report --out``, ``sample --out`` and ``metrics --output`` are checked before the data
is loaded, so a path that cannot work (a file where a folder belongs, a folder under a file,
a read-only place) stops the command at once with exit code 2 and nothing written. A missing
folder is not a problem: it is created when the command writes. A corrupt notebook in
``--notebooks-dir`` is named before any notebook runs. What still fails while writing (a full
disk) becomes a :class:`~csm_kit.errors.ReportError` through :func:`writing`, and
:func:`replaced_atomically` makes sure no half-written file is left in its place.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import nbformat

from csm_kit.errors import ConfigError, CsmKitError, ReportError, first_line


def check_output_folder(path: str | Path, *, option: str = "--out") -> Path:
    """Check that ``path`` is, or can become, a folder the kit can write in; return it.

    Raises
    ------
    ConfigError
        ``path`` is a file, lies under a file, or its nearest existing folder cannot be
        written (read-only file system, no permission).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_folder(Path(tmp) / "new" / "reports").name
    'reports'
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} {folder} is a file, not a folder; pass a folder to write "
                          "into (it is created if missing)")
    _check_writable(folder, option=option)
    return folder


def check_output_file(path: str | Path, *, option: str = "--output") -> Path:
    """Check that ``path`` names a file the kit can write (missing folders are created); return it.

    Raises
    ------
    ConfigError
        ``path`` is a folder, lies under a file, or cannot be written.
    """
    file = Path(path)
    if file.is_dir():
        raise ConfigError(f"{option} {file} is a folder; pass a file name, e.g. "
                          f"{file / 'metrics.csv'}")
    if file.exists() and not os.access(file, os.W_OK):
        raise ConfigError(f"{option} {file} cannot be written (read-only or no permission); "
                          "choose another file")
    _check_writable(file.parent, option=option, shown=file)
    return file


def check_notebooks(notebooks: Sequence[str | Path]) -> None:
    """Read and validate every notebook; one ConfigError naming each that is not a notebook."""
    problems = []
    for path in map(Path, notebooks):
        try:
            nbformat.validate(nbformat.read(path, as_version=4))
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path} cannot be read ({exc.__class__.__name__}: {exc})")
        except nbformat.ValidationError as exc:
            problems.append(f"{path} is not a valid notebook ({exc.message})")
        except Exception as exc:  # nbformat's NotJSONError, a JSON list, a future major version
            kind = f"{type(exc).__name__}: {first_line(exc)}"[:200]
            problems.append(f"{path} is not a Jupyter notebook ({kind})")
    if problems:
        raise ConfigError("corrupt report notebook(s): " + "; ".join(problems)
                          + ". Restore them (git checkout) or remove them from the folder; "
                          "nothing was run")


@contextmanager
def writing(path: str | Path, *, fix: str) -> Iterator[None]:
    """Turn an OSError while writing ``path`` (full disk, no permission, ...) into a ReportError
    naming the file, the reason and ``fix``."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, CsmKitError):
            raise
        raise ReportError(f"could not write {path}: {exc.strerror or exc}; "
                          f"{fix}") from None


@contextmanager
def replaced_atomically(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix) to write; it replaces ``path`` only
    when the block ends without an error, and is removed otherwise: a reader never sees half
    a file, and a failed write leaves what was there."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}-{uuid.uuid4().hex[:8]}{target.suffix}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _check_writable(folder: Path, *, option: str, shown: Path | None = None) -> None:
    """The nearest existing folder at or above ``folder`` must be a writable folder."""
    shown = folder if shown is None else shown
    existing = folder.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{option} {shown} is under {existing}, which is a file, not a "
                          "folder; choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {shown}: cannot write in {existing} (read-only or no "
                          "permission); choose a folder you can write to")

