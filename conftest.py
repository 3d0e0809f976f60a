"""Suite-wide rules for every test, doctest and notebook pytest collects (tests/, csm_kit/,
notebooks/): each test leaves the process as it found it, and notebooks run cell by cell in
order even when pytest-randomly shuffles everything else.

Test-only helpers (fixtures, :func:`tests.conftest.require`) live in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
from collections import defaultdict

# Imported here, before any test: importing pandera sets environment variables (its pyspark
# support: PYARROW_IGNORE_TIMEZONE, SPARK_LOCAL_IP), which would otherwise be blamed on the
# first test that validates data (the kit imports pandera only when it validates).
import pandera.pandas  # noqa: F401

try:  # importing polars sets _RJEM_MALLOC_CONF (its allocator); the kit imports it when a
    import polars  # noqa: F401  # transform or a report uses it
except ImportError:  # an optional dependency
    pass
import pytest
from hypothesis import HealthCheck, settings

from csm_kit.engine import forget_reused

# Hypothesis profiles for the property tests that do not fix their own number of examples (the
# revenue invariants in tests/test_revenue_properties.py): "dev" is quick and the default; "ci"
# (``--hypothesis-profile=ci``, passed by .ci/run) runs 200 examples each.
settings.register_profile("dev", max_examples=20, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile("dev")  # --hypothesis-profile=NAME replaces it (hypothesis' pytest plugin)


#: Set by imports, not by the code under test: pytest's own (each phase), and polars' allocator
#: setting (polars/__init__.py sets it when first imported, which the kit does lazily).
IMPORT_TIME_VARIABLES = frozenset({"PYTEST_CURRENT_TEST", "_RJEM_MALLOC_CONF"})


@pytest.fixture(autouse=True)
def _leave_the_process_as_found():
    """Fail a test that changes an environment variable or the working directory without
    putting it back, after putting it back; empty the engine's result cache after each test.

    ``monkeypatch.setenv``/``delenv``/``chdir`` restore before this check runs (an autouse
    fixture is set up first, so torn down last). Careful: ``monkeypatch.delenv`` of a variable
    that is not set records nothing, so a value the code under test sets afterwards (the CLI's
    ``--engine`` sets ``CSM_KIT_ENGINE``) leaks; ``monkeypatch.setenv`` it first.
    """
    environment, cwd = dict(os.environ), os.getcwd()
    yield
    forget_reused()
    changed = sorted(name for name in environment.keys() | os.environ.keys()
                     if environment.get(name) != os.environ.get(name)
                     and name not in IMPORT_TIME_VARIABLES)
    for name in changed:
        if name in environment:
            os.environ[name] = environment[name]
        else:
            del os.environ[name]
    moved = os.getcwd() != cwd
    if moved:
        os.chdir(cwd)
    if changed or moved:
        pytest.fail("the test left the process changed (now restored): "
                    + ", ".join([f"environment variable {n}" for n in changed]
                                + ([f"working directory (was {cwd})"] if moved else []))
                    + "; use monkeypatch.setenv/delenv/chdir so they are put back",
                    pytrace=False)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Keep each notebook's cells together and in notebook order.

    pytest-randomly shuffles tests within a module; an nbval notebook is a module whose cells
    depend on the cells before them. Every notebook's cells go back, in cell order, to the
    place of the notebook's first cell in the shuffled list, so notebooks still run in random
    order among the other tests but each one top to bottom. (Running after pytest-randomly,
    this is also a no-op when it is not installed.)
    """
    cells = defaultdict(list)
    for item in items:
        if str(item.path).endswith(".ipynb") and hasattr(item, "cell_num"):
            cells[item.path].append(item)
    if not cells:
        return
    ordered, placed = [], set()
    for item in items:
        notebook = cells.get(item.path) if hasattr(item, "cell_num") else None
        if notebook is None:
            ordered.append(item)
        elif item.path not in placed:
            placed.add(item.path)
            ordered.extend(sorted(notebook, key=lambda cell: cell.cell_num))
    items[:] = ordered
