"""pytest set-up shared by the unit tests, the notebooks (run by nbval) and the claims.

Order of a run: unit tests, then every notebook of the test build (nbval, lax mode:
cells tagged ``nbval-check-output`` are compared with their reference outputs),
then the tests marked ``after_notebooks`` that check the prose's claims against
the run that just happened, then the website's browser tests. Tests marked ``overlap``
(the pins check, which waits on PyPI) start in a thread at collection and report with
the claims, so their waiting overlaps with the notebooks' computing.

nbval runs the test build, ``_build/test-notebooks/`` (the instructor copy plus the
tests' plumbing: the ``lesson-numbers`` cell and the ``CNNLESSON_SEED`` cell), which
this file writes from episodes/ at the start of every run; the learners' notebooks
in notebooks/ never carry that plumbing. ``CNNLESSON_SEED=7 make test`` runs the
whole lesson under another seed (only the behaviour claims, not the quoted figures,
are expected to hold then).

Each notebook's outputs from the nbval run are saved to _build/executed/, so the
claims and the website use that same run instead of executing everything again.

The runs cap oneDNN at AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, set in tools/nbval_setup.py
unless you set the variable yourself): the figures the text quotes were measured that
way, as on a CPU without AVX-512. On a CPU with AVX-512, oneDNN computes the same training with other kernels,
whose rounding moves single runs by more than the quoted tolerances. Measured on a
2-core AMD EPYC with AVX-512 BF16, uncapped: episode 4's training accuracy by
``evaluate`` 0.727 against fit's 0.814 (the text said "a few points"; it now says
several, and quotes this run), episode 6's
hardest class F1 0.40 (quoted 0.30 ± 0.08), one search row of episode 8 0.364 (stored
seeds 0.407-0.416). Capped, a test run's verdict does not depend on which kind of CPU
it lands on. ``ONEDNN_MAX_CPU_ISA=ALL make test`` runs uncapped.
"""
from __future__ import annotations

import copy
import datetime
import os
from pathlib import Path

import nbformat
import pytest

from tools.facts import EXECUTED, ROOT, TEST_BUILD, seed_label
from tools.nbval_setup import IPyNbCell  # (log level, inline plots, stderr)
from tools.notebooks import write_test_build

# pytest resolves `testpaths` after importing this file and before pytest_configure,
# dropping folders that do not exist: in a fresh clone the test build would be left out
# and nbval would run nothing. The folder exists from here on; pytest_configure fills it.
TEST_BUILD.mkdir(parents=True, exist_ok=True)

# nbval runs the test build, never the learners' copies
collect_ignore_glob = ["notebooks/*", "instructors/notebooks/*"]


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # once, not in every xdist worker
        write_test_build()
    # `pytest notebooks/04-compile-and-fit.ipynb` runs that episode's test build
    args = []
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if path.suffix == ".ipynb" and path.parent.resolve() == (ROOT / "notebooks").resolve():
            arg = os.path.relpath(TEST_BUILD / path.name)
        args.append(arg)
    config.args[:] = args

def _is_cell(item):
    return IPyNbCell is not None and isinstance(item, IPyNbCell)


# The stages of a run, in the order they run (pytest's summary says how long each took).
STAGES = ("unit tests", "notebooks (nbval)", "claims, seed rerun, pins", "website (browser)")


def _rank(item):
    if _is_cell(item):
        return 1
    if item.get_closest_marker("browser"):
        return 3
    if item.get_closest_marker("after_notebooks") or item.get_closest_marker("overlap"):
        return 2
    return 0


@pytest.hookimpl(trylast=True)  # after -k/-m deselection: only what will run
def pytest_collection_modifyitems(session, config, items):
    _stage_of.update({item.nodeid: _rank(item) for item in items})
    for item in items:
        if item.get_closest_marker("overlap"):
            item.module.start_background()
    items.sort(key=_rank)  # stable: keeps file and cell order within each group
    last = {}
    for item in items:
        if _is_cell(item):
            last[item.parent] = item
    config._lesson_last_cells = set(last.values())


def pytest_report_header(config):
    try:
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        device = f"GPU ({', '.join(g.name for g in gpus)})" if gpus else "CPU (no GPU visible)"
        return [f"lesson: TensorFlow {tf.__version__}, notebooks run on {device}",
                f"lesson: data from {os.environ.get('CNNLESSON_DATA_DIR') or 'official downloads'}",
                f"lesson: oneDNN capped at {os.environ.get('ONEDNN_MAX_CPU_ISA')} "
                "(ONEDNN_MAX_CPU_ISA; the quoted figures were measured so)"]
    except Exception as err:  # noqa: BLE001
        return [f"lesson: TensorFlow not importable ({err})"]


def pytest_runtest_logreport(report):
    if report.nodeid in _stage_of:
        _stage_seconds[_stage_of[report.nodeid]] += report.duration


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    spent = [f"{name} {_stage_seconds[i] / 60:.1f} min" for i, name in enumerate(STAGES)
             if _stage_seconds[i]]
    if spent:
        terminalreporter.write_line("lesson: time by stage: " + ", ".join(spent))
    ran = sorted(p.stem for p in _runs)
    if ran:
        header = pytest_report_header(config)[0].split(", ", 1)[-1]
        failed = sorted(FAILED_NOTEBOOKS)
        terminalreporter.write_line(
            f"lesson: {len(ran)} notebooks executed by nbval; {header}"
            + (f"; FAILED: {', '.join(failed)}" if failed else ""))


_runs: dict = {}
FAILED_NOTEBOOKS: set = set()
_stage_of: dict = {}                  # test id -> index in STAGES
_stage_seconds = [0.0] * len(STAGES)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if not _is_cell(item) or report.when != "call":
        return
    run = _runs.setdefault(item.parent.path, {})
    run[item.cell.get("id")] = (item.test_outputs or [], item.cell_num + 1)
    if report.failed:
        FAILED_NOTEBOOKS.add(item.parent.path.stem)
    if item in getattr(item.config, "_lesson_last_cells", ()):
        _save_executed(item.parent, run)


def _save_executed(nb_file, run):
    """Write the notebook with the outputs nbval just produced to _build/executed/."""
    name = nb_file.path.stem
    if name in FAILED_NOTEBOOKS:
        (EXECUTED / f"{name}.ipynb").unlink(missing_ok=True)
        return
    nb = copy.deepcopy(nb_file.nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("id") in run:
            outputs, count = run[cell.get("id")]
            cell.outputs = [nbformat.from_dict(dict(o)) for o in outputs]
            for o in cell.outputs:
                if o.get("output_type") == "execute_result":
                    o["execution_count"] = count
            cell.execution_count = count
    nb.metadata.setdefault("lesson", {})["executed"] = {
        "by": "nbval (pytest)",
        "seed": seed_label(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    EXECUTED.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, EXECUTED / f"{name}.ipynb")
