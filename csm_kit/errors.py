"""The kit's exceptions: one base class and a few specific ones.

Every message says what was expected, what was found and how to fix it, in
customer-success words. Catch :class:`CsmKitError` to handle them all.
"""

from __future__ import annotations

import pandas as pd


class CsmKitError(Exception):
    """Base class of every error csm-kit raises on purpose."""


class ConfigError(CsmKitError, ValueError):
    """A configuration file, mapping, option or parameter is not what the kit expects."""


class DataContractError(CsmKitError, ValueError):
    """The data breaks the data contract; ``failures`` holds one row per problem.

    ``failures`` columns: table, column, check, severity, rows, examples, message.
    """

    def __init__(self, failures: pd.DataFrame):
        self.failures = failures.reset_index(drop=True)
        n = len(self.failures)
        lines = [f"The data breaks the data contract ({n} problem{'s' if n != 1 else ''}):"]
        lines += [f"  - {msg}" for msg in self.failures["message"]]
        super().__init__("\n".join(lines))


class DataSourceError(CsmKitError, OSError):
    """A data source cannot be found or opened (missing folder, unknown file type, bad URL)."""


class ReportError(CsmKitError, RuntimeError):
    """A report could not be produced; the message says which notebook and why."""


def first_line(exc: BaseException, *, limit: int = 200) -> str:
    """The first line of another library's error message, cut to ``limit`` characters (its
    type's name when the message is empty), to quote inside one of the kit's messages.

    >>> first_line(ValueError("bad header\\nat byte 12"))
    'bad header'
    >>> first_line(KeyError())
    'KeyError'
    """
    text = str(exc).strip()
    return text.splitlines()[0][:limit] if text else type(exc).__name__
