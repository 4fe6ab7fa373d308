"""The executed copies of the notebooks, and the reference outputs of checked cells.

    python -m tools.executed record 03 04   # re-run episodes to refresh their reference outputs

``_build/executed/NAME.ipynb`` is each notebook as its last full run left it (nbval
writes it during ``make test``; the lab's benchmark too): the claims tests and the
website read it instead of executing everything again, and :func:`ensure_executed`
runs a notebook whose copy is missing or stale.

The cells tagged ``nbval-check-output`` have reference outputs, recorded from a real run
of the test build by ``record`` and carried over by ``tools.notebooks`` while a cell's
code is unchanged.
"""
from __future__ import annotations

import argparse
import sys
import time

import nbformat

from tools.execute import execute
from tools.facts import EXECUTED, ROOT, TEST_BUILD, seed_label
from tools.notebooks import (CHECK_TAG, SEED_TAG, carry_references, choose, from_source,
                             generate, old_references, remove_orphans, tags, test_build,
                             write_generated, write_test_build)


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
    if ran_with != seed_label():
        return f"executed copy ran with seed {ran_with}, this run uses {seed_label()}"
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
        run.nb.metadata.setdefault("lesson", {})["executed"] = {"by": by, "seed": seed_label()}
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(run.nb, EXECUTED / f"{name}.ipynb")
        done[name] = run.nb
        log(f"  done in {time.perf_counter() - t:.0f} s")
    if failed:
        raise SystemExit("these notebooks failed:\n  " + "\n  ".join(failed))
    return done


def record_references(nb, path):
    """Run the notebook (its test build) and keep the outputs of its checked cells."""
    tb = test_build(nb)
    TEST_BUILD.mkdir(parents=True, exist_ok=True)
    run = execute(tb, cwd=TEST_BUILD)
    if run.error:
        raise SystemExit(f"{path.name}: the run to record reference outputs failed: {run.error}")
    ran_cells = [c for c in run.nb.cells if SEED_TAG not in tags(c)]
    for cell, ran in zip(nb.cells, ran_cells):
        if cell.cell_type == "code" and CHECK_TAG in tags(cell):
            cell.outputs = [o for o in ran.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
            cell.execution_count = ran.execution_count
    return nb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record", help="run episodes and refresh their reference outputs")
    r.add_argument("episodes", nargs="*", help="episode numbers or names (default: all)")
    args = ap.parse_args(argv)
    for md in choose(args.episodes):
        nb = carry_references(from_source(md), old_references(md.stem))
        write_generated(generate(md, record_references(nb, md)))
    remove_orphans()
    return 0


if __name__ == "__main__":
    sys.exit(main())
