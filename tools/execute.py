"""Execute a notebook in a fresh kernel and measure it.

Used by ``tools/executed.py`` (the executed copies the tests and the website use, and
the reference outputs of checked cells) and by the lab's benchmark. What runs is the
test build, ``_build/test-notebooks/`` (see tools/notebooks.py): the learners'
notebooks lack the cell that reports the numbers the text quotes. Measures each cell's
wall time, the kernel's peak resident memory and the device TensorFlow used.

This module knows nothing of the lesson's files; a memory limit, when one is wanted, is
handed in by the caller (the lab's ``tools/lab/memlimit.py``).
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

DEVICE_PROBE = (
    "import sys\n"
    "if 'tensorflow' in sys.modules:\n"
    "    _g = sys.modules['tensorflow'].config.list_physical_devices('GPU')\n"
    "    print('GPU: ' + _g[0].name if _g else 'CPU')\n"
    "else:\n"
    "    print('no TensorFlow')\n"
)


@dataclass
class Run:
    nb: nbformat.NotebookNode
    wall_s: float = 0.0
    cell_s: list = field(default_factory=list)  # (cell index, seconds) of code cells
    peak_rss_mb: float = 0.0
    peak_anon_mb: float = 0.0  # anonymous memory only: what the kernel cannot give back
    cell_peak_mb: list = field(default_factory=list)  # (cell index, peak RSS so far)
    # under a memory limit (tools/lab/memlimit.py): {"limit_mb", "page_cache_dropped",
    # "oom_kills", "major_faults", "peak_rss_mb"}, or {"limit_mb", "unavailable": why};
    # None when run without one
    limit: dict | None = None
    device: str = "?"
    error: str | None = None


def _tree_rss(proc):
    try:
        procs = [proc] + proc.children(recursive=True)
        return sum(p.memory_info().rss for p in procs)
    except psutil.Error:
        return 0


def _status_bytes(pid, field):
    """A memory figure of one process from the kernel's own accounting (/proc/PID/status):
    ``VmHWM``, its peak resident set size, or ``RssAnon``, its anonymous resident memory
    (heap, arrays, tensors). Unlike the pages of shared libraries, which every kernel
    shares and the system can drop under pressure, anonymous memory counts against a
    memory limit such as Binder's."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def execute(nb, cwd, timeout=900, env=None, limit=None):
    """Run every code cell of ``nb`` (a notebook node or a path) in a fresh kernel.

    ``limit``: an object that starts the kernel under a hard memory limit, as on Binder
    (``tools.lab.memlimit.KernelLimit``): ``start()`` returns the dict recorded as
    ``run.limit`` (with the key ``unavailable`` when no limit can be made here, and the
    kernel then runs without one), ``spawning()`` is the context the kernel starts in,
    ``finish()`` returns what the limit saw. A kernel that needs more is stopped and the
    run fails."""
    if not isinstance(nb, nbformat.NotebookNode):
        nb = nbformat.read(nb, as_version=4)
    nb = nbformat.from_dict(nb)
    run = Run(nb=nb)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    old_env = dict(os.environ)
    # An inherited MPLBACKEND (agg is a common headless default) would replace IPython's
    # inline backend in the kernel, and every plt.show() would draw nothing.
    os.environ.pop("MPLBACKEND", None)
    os.environ.update({"TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})})
    peak = [0]
    anon = [0]
    stop = threading.Event()
    if limit is not None:
        run.limit = limit.start()
        if "unavailable" in run.limit:
            limit = None
    try:
        if limit:  # the kernel starts in the cgroup, so all its memory counts
            client.km = client.create_kernel_manager()
            with limit.spawning():
                client.start_new_kernel()
        with client.setup_kernel():
            proc = psutil.Process(client.km.provisioner.process.pid)

            def poll():
                while not stop.is_set():
                    peak[0] = max(peak[0], _tree_rss(proc))
                    anon[0] = max(anon[0], _status_bytes(proc.pid, "RssAnon"))
                    stop.wait(0.2)

            watcher = threading.Thread(target=poll, daemon=True)
            watcher.start()
            start = time.perf_counter()
            try:
                for i, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    t = time.perf_counter()
                    client.execute_cell(cell, i)
                    run.cell_s.append((i, time.perf_counter() - t))
                    run.cell_peak_mb.append((i, max(peak[0], _status_bytes(proc.pid, "VmHWM")) / 2**20))
            except Exception as err:  # noqa: BLE001 - reported, not hidden
                run.error = f"{type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
            run.wall_s = time.perf_counter() - start
            probe = nbformat.v4.new_code_cell(DEVICE_PROBE)
            nb.cells.append(probe)  # nbclient runs only cells of the notebook
            try:
                client.execute_cell(probe, len(nb.cells) - 1)
                run.device = "".join(o.get("text", "") for o in probe.outputs).strip() or "?"
            except Exception:  # noqa: BLE001
                run.device = "?"
            finally:
                nb.cells.pop()
            try:
                peak[0] = max(peak[0], _status_bytes(proc.pid, "VmHWM") + sum(
                    c.memory_info().rss for c in proc.children(recursive=True)))
            except psutil.Error:  # the kernel died (out of memory, say): keep what we saw
                pass
    finally:
        stop.set()
        if limit:
            run.limit.update(limit.finish())
        os.environ.clear()
        os.environ.update(old_env)
    run.peak_rss_mb = peak[0] / 2**20
    if limit:
        run.limit["peak_rss_mb"] = round(run.peak_rss_mb, 1)
    run.peak_anon_mb = anon[0] / 2**20
    return run
