"""Execute a notebook in a fresh kernel and measure it.

Used by the benchmark, by ``tools.notebooks build --record`` and by the tests when a
notebook's executed copy is missing. What runs is the test build,
``_build/test-notebooks/`` (see tools/notebooks.py): the learners' notebooks lack the
cell that reports the numbers the text quotes. Measures each cell's wall time, the kernel's
peak resident memory and the device TensorFlow used.
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
    # under a memory limit (tools/memlimit.py): {"limit_mb", "page_cache_dropped",
    # "oom_kills", "major_faults", "peak_rss_mb"}, or {"limit_mb", "unavailable": why};
    # None when run without one
    limit: dict | None = None
    device: str = "?"
    error: str | None = None

    @property
    def slowest(self):
        return max(self.cell_s, key=lambda c: c[1]) if self.cell_s else (None, 0.0)


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


def execute(nb, cwd, timeout=900, env=None, memory_limit_mb=None):
    """Run every code cell of ``nb`` (a notebook node or a path) in a fresh kernel,
    with ``memory_limit_mb`` the kernel runs in a memory cgroup of that size, as on
    Binder (see tools/memlimit.py); if it needs more, it is stopped and the run fails."""
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
    limit = None
    if memory_limit_mb:
        from tools.memlimit import MemoryLimit, Unavailable, drop_page_cache
        try:
            limit = MemoryLimit(memory_limit_mb)
        except Unavailable as err:
            run.limit = {"limit_mb": memory_limit_mb, "unavailable": str(err)}
    try:
        if limit:  # the kernel starts in the cgroup, so all its memory counts
            run.limit = {"limit_mb": memory_limit_mb, "page_cache_dropped": drop_page_cache()}
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
            # (not the peak charge: under a limit the page cache fills it up to the limit)
            run.limit.update(oom_kills=limit.oom_kills(), major_faults=limit.major_faults())
            limit.close()
        os.environ.clear()
        os.environ.update(old_env)
    run.peak_rss_mb = peak[0] / 2**20
    if limit:
        run.limit["peak_rss_mb"] = round(run.peak_rss_mb, 1)
    run.peak_anon_mb = anon[0] / 2**20
    return run


# ----------------------------------------------------------- executed copies of notebooks
ROOT = Path(__file__).resolve().parent.parent
TEST_BUILD = ROOT / "_build" / "test-notebooks"  # what runs: see tools/notebooks.py
EXECUTED = ROOT / "_build" / "executed"


def current_seed():
    """The seed the notebooks run with: CNNLESSON_SEED, or the episodes' own."""
    return os.environ.get("CNNLESSON_SEED") or "default"


def _sha(nb):
    return nb.metadata.get("lesson", {}).get("source_sha256")


def _figure_cells(nb):
    """Indices of the code cells that draw a figure (they carry mystnb.image.alt)."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
            and c.metadata.get("mystnb", {}).get("image", {}).get("alt")]


def _has_image(cell):
    return any(k.startswith("image/") for o in cell.get("outputs", [])
               for k in o.get("data", {}))


def why_not_current(name):
    """None if _build/executed/NAME.ipynb is the run of the current notebook, with its
    figures, else the reason it is not."""
    from tools.notebooks import write_test_build
    if not (TEST_BUILD / f"{name}.ipynb").exists():
        write_test_build()
    source = nbformat.read(TEST_BUILD / f"{name}.ipynb", as_version=4)
    path = EXECUTED / f"{name}.ipynb"
    if not path.exists():
        return "no executed copy"
    nb = nbformat.read(path, as_version=4)
    if not _sha(nb) or _sha(nb) != _sha(source):
        return "executed copy is stale (source_sha256 differs)"
    ran_with = nb.metadata.get("lesson", {}).get("executed", {}).get("seed", "default")
    if ran_with != current_seed():
        return f"executed copy ran with seed {ran_with}, this run uses {current_seed()}"
    blank = [i for i in _figure_cells(nb) if not _has_image(nb.cells[i])]
    if blank:
        return f"executed copy lacks the figures of cells {blank}"
    return None


def ensure_executed(names, allow_execute=True, log=print, by="tools.execute"):
    """{name: executed notebook}: the current copies in _build/executed/, and a fresh
    execution of every notebook whose copy is missing, stale or lacks its figures
    (written back to _build/executed/). The notebooks are returned in memory, so that
    another process rewriting _build/executed/ meanwhile cannot mix runs."""
    reasons = {n: why_not_current(n) for n in names}
    todo = [n for n in names if reasons[n]]
    if todo and not allow_execute:
        raise SystemExit("no current executed copy of " + ", ".join(todo) +
                         ": run `make test` (or drop --no-execute)")
    done = {n: nbformat.read(EXECUTED / f"{n}.ipynb", as_version=4)
            for n in names if n not in todo}
    failed = []
    for name in todo:
        log(f"executing {TEST_BUILD.relative_to(ROOT)}/{name}.ipynb ({reasons[name]}) ...")
        t = time.perf_counter()
        run = execute(TEST_BUILD / f"{name}.ipynb", cwd=TEST_BUILD)
        if run.error:
            failed.append(f"{TEST_BUILD.relative_to(ROOT)}/{name}.ipynb: {run.error}")
            continue
        run.nb.metadata.setdefault("lesson", {})["executed"] = {"by": by, "seed": current_seed()}
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(run.nb, EXECUTED / f"{name}.ipynb")
        done[name] = run.nb
        log(f"  done in {time.perf_counter() - t:.0f} s")
    if failed:
        raise SystemExit("these notebooks failed:\n  " + "\n  ".join(failed))
    return done
