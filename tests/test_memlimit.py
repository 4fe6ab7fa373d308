"""tools.lab.memlimit: running a notebook's kernel under a hard memory limit, as Binder does.

These tests need the right to create a memory cgroup (root on Linux, as on the lesson's CI
machines); elsewhere they are skipped and say why."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tools.execute import execute
from tools.lab import benchmark
from tools.lab import memlimit
from tools.lab.memlimit import KernelLimit, MemoryLimit, Unavailable

ROOT = Path(__file__).resolve().parent.parent
ALLOCATE = ("import numpy as np\n"
            "a = np.ones(({mb}, 2**20), dtype=np.uint8)  # touched: really resident\n"
            "print('allocated', a.sum() // 2**20)\n")


@pytest.fixture
def limit():
    try:
        lim = MemoryLimit(300)
    except Unavailable as err:
        pytest.skip(f"no memory cgroup here: {err}")
    with lim:
        yield lim


def _spawn(lim, mb):
    with lim.spawning():
        proc = subprocess.Popen([sys.executable, "-c", ALLOCATE.format(mb=mb)],
                                stdout=subprocess.PIPE, text=True)
    out, _ = proc.communicate(timeout=120)
    return proc.returncode, out


def test_a_process_within_the_limit_runs(limit):
    rc, out = _spawn(limit, 100)
    assert rc == 0 and "allocated 100" in out
    assert limit.oom_kills() == 0
    assert 100 <= limit.peak_mb() <= 300


def test_a_process_over_the_limit_is_stopped_and_counted(limit):
    rc, out = _spawn(limit, 600)
    assert rc == -9, f"a process that needs 600 MB ran in 300 MB (rc {rc})"
    assert "allocated" not in out
    assert limit.oom_kills() == 1


def test_spawning_leaves_this_process_where_it_was(limit):
    before = Path("/proc/self/cgroup").read_text()
    with limit.spawning():
        assert Path("/proc/self/cgroup").read_text() != before
    assert Path("/proc/self/cgroup").read_text() == before


def test_a_kernel_over_the_limit_fails_the_run_and_says_so(limit, tmp_path):
    """tools.execute with a KernelLimit: the kernel starts in the cgroup, and a notebook
    that needs more is stopped; the run reports the error and the out-of-memory stop."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(ALLOCATE.format(mb=50)),
                                         nbformat.v4.new_code_cell(ALLOCATE.format(mb=700))])
    run = execute(nb, cwd=tmp_path, timeout=120, limit=KernelLimit(400))
    assert "allocated 50" in run.nb.cells[0].outputs[0]["text"]
    assert run.error and "Dead" in run.error, run.error
    assert run.limit["oom_kills"] >= 1 and run.limit["limit_mb"] == 400
    small = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(ALLOCATE.format(mb=50))])
    ok = execute(small, cwd=tmp_path, timeout=120, limit=KernelLimit(400))
    assert ok.error is None and ok.limit["oom_kills"] == 0


def test_no_cgroup_is_one_clear_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(memlimit, "V2", tmp_path / "none")
    monkeypatch.setattr(memlimit, "V1", tmp_path / "none")
    with pytest.raises(Unavailable, match="no memory cgroup"):
        MemoryLimit(100)


def test_a_run_under_a_limit_saves_only_its_column(tmp_path):
    """The benchmark under --memory-limit: its rows add the limit's result to the saved
    rows and keep their times (a limit can slow a notebook down); the table shows it."""
    saved = tmp_path / "bench.json"
    saved.write_text(json.dumps({"date": "old", "notebooks": [
        {"notebook": "05-dropout", "wall_s": 300.0}, {"notebook": "07-x", "wall_s": 500.0}]}))
    lim = {"limit_mb": 1024, "oom_kills": 0, "major_faults": 1234}
    result = {"date": "new", "notebooks": [{"notebook": "07-x", "wall_s": 9999.0,
                                            "memory_limit": lim, "limit_error": None}]}
    merged = benchmark.merge(saved, result, limit_only=True)
    rows = {r["notebook"]: r for r in merged["notebooks"]}
    assert rows["07-x"]["wall_s"] == 500.0 and rows["07-x"]["memory_limit"] == lim
    assert "memory_limit" not in rows["05-dropout"] and merged["date"] == "old"
    assert benchmark.under_limit(lim) == "ran, 1,234 pages read from disk"
    assert benchmark.under_limit({**lim, "oom_kills": 1}) == "stopped: out of memory"
    assert benchmark.under_limit({"limit_mb": 1024, "unavailable": "no cgroup"}).startswith(
        "not measured")
    assert benchmark.under_limit(lim, "CellTimeoutError: cell 5 ran 900 s") == (
        "did not finish (CellTimeoutError), 1,234 pages read from disk")
    assert benchmark.under_limit({**lim, "peak_rss_mb": 987.4}) == (
        "ran, 1,234 pages read from disk, peak 987 MB resident")


def test_a_cell_tagged_time_name_is_reported_as_name_seconds():
    """The benchmark times the cells tagged time-NAME (episode 4's fit), so the notebooks
    carry no timing code of their own."""
    from types import SimpleNamespace
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1"),
                                         nbformat.v4.new_markdown_cell("text"),
                                         nbformat.v4.new_code_cell("history = fit()")])
    nb.cells[2].metadata["tags"] = ["faded", "time-fit"]
    run = SimpleNamespace(nb=nb, cell_s=[(0, 1.0), (2, 93.456)])
    assert benchmark.timed_cells(run) == {"fit_seconds": 93.46}
    # a fit split into two cells (each within the cell budget) is quoted as one run
    nb.cells.append(nbformat.v4.new_code_cell("more = fit()"))
    nb.cells[3].metadata["tags"] = ["time-fit"]
    run = SimpleNamespace(nb=nb, cell_s=[(0, 1.0), (2, 46.5), (3, 47.25)])
    assert benchmark.timed_cells(run) == {"fit_seconds": 93.75}


def test_a_long_run_is_reported_apart_from_the_slowest_cell():
    """A cell tagged long-run (announced in the text with its time) gets its own column;
    the slowest cell, which the 60 s budget is about, is the slowest of the others."""
    from types import SimpleNamespace
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("a = 1"),
                                         nbformat.v4.new_code_cell("fit()"),
                                         nbformat.v4.new_code_cell("fit_long()")])
    nb.cells[2].metadata["tags"] = ["reuse-best-fit", "long-run"]
    run = SimpleNamespace(nb=nb, cell_s=[(0, 1.0), (1, 42.0), (2, 300.0)])
    assert benchmark.slowest_within_budget(run) == ((1, 42.0), [(2, 300.0)])
    assert benchmark.long_runs({"long_runs": [[2, 300.0]]}) == "cell 2: 300.0"
    assert benchmark.long_runs({}) == "-"
    # without the tag the same cell is the slowest, and the budget applies to it
    nb.cells[2].metadata["tags"] = ["reuse-best-fit"]
    assert benchmark.slowest_within_budget(run) == ((2, 300.0), [])
