"""Generate the notebooks from the episodes' single source.

    python -m tools.notebooks build            # episodes/*.md -> notebooks/, notebooks/code-along/
    python -m tools.notebooks build --record   # ... and re-run notebooks to refresh reference outputs
    python -m tools.notebooks check            # exit 1 if any generated file is stale or hand-edited

Each episode is one MyST Markdown file, ``episodes/NN-name.md`` (read by jupytext).
Two notebooks are generated from it:

* ``notebooks/NN-name.ipynb``: the full notebook, without outputs, except the
  reference outputs of cells tagged ``nbval-check-output`` (shapes, class names,
  parameter counts...). nbval compares those cells' outputs with a fresh run.
  The reference outputs come from a real run (``--record``) and are carried over
  on later builds as long as the cell's code is unchanged.
* ``notebooks/code-along/NN-name.ipynb``: the workshop version: the same headings,
  prose and challenges, but the code cells that learners type are empty. Cells
  tagged ``keep`` (imports, data loading) keep their code.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
EPISODES = ROOT / "episodes"
NOTEBOOKS = ROOT / "notebooks"
CODE_ALONG = NOTEBOOKS / "code-along"

CHECK_TAG = "nbval-check-output"
KEEP_TAG = "keep"
NUMBERS_TAG = "lesson-numbers"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def episode_sources():
    return sorted(EPISODES.glob("[0-9][0-9]-*.md"))


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _stable_ids(nb):
    seen = {}
    for cell in nb.cells:
        h = hashlib.sha1((cell.cell_type + cell.source).encode()).hexdigest()[:8]
        seen[h] = seen.get(h, 0) + 1
        cell["id"] = h if seen[h] == 1 else f"{h}-{seen[h]}"


def from_source(md_path: Path):
    """The notebook a source file defines: no outputs, stable ids, clean metadata."""
    nb = jupytext.read(md_path, fmt="md:myst")
    nb.nbformat, nb.nbformat_minor = 4, 5
    source_sha = hashlib.sha256(md_path.read_bytes()).hexdigest()
    nb.metadata = {
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        "lesson": {
            "source": f"episodes/{md_path.name}",
            "source_sha256": source_sha,
            "generated_by": "python -m tools.notebooks build (do not edit by hand)",
        },
    }
    for cell in nb.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    _stable_ids(nb)
    return nb


def carry_references(nb, old):
    """Copy the reference outputs of checked cells whose code is unchanged."""
    pool = {}
    if old is not None:
        for cell in old.cells:
            if cell.cell_type == "code" and CHECK_TAG in tags(cell) and cell.outputs:
                pool.setdefault(cell.source, []).append(cell)
    for cell in nb.cells:
        if cell.cell_type == "code" and CHECK_TAG in tags(cell) and pool.get(cell.source):
            ref = pool[cell.source].pop(0)
            cell.outputs = copy.deepcopy(ref.outputs)
            cell.execution_count = ref.execution_count
    return nb


def missing_references(nb):
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and CHECK_TAG in tags(c) and not c.outputs]


def record_references(nb, path: Path):
    """Run the notebook and keep the outputs of its checked cells as references."""
    from tools.execute import execute
    run = execute(nb, cwd=path.parent)
    for cell, ran in zip(nb.cells, run.nb.cells):
        if cell.cell_type == "code" and CHECK_TAG in tags(cell):
            cell.outputs = [o for o in ran.outputs
                            if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
            cell.execution_count = ran.execution_count
    return nb


def code_along(nb):
    """The workshop version: code cells emptied unless tagged ``keep``."""
    ca = copy.deepcopy(nb)
    cells = []
    for cell in ca.cells:
        if NUMBERS_TAG in tags(cell):
            continue
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if KEEP_TAG not in tags(cell):
                cell.source = ""
            cell.metadata["tags"] = [t for t in tags(cell) if t != CHECK_TAG]
            if not cell.metadata["tags"]:
                del cell.metadata["tags"]
        cells.append(cell)
    ca.cells = cells
    ca.metadata["lesson"]["version"] = "code-along: type the code yourself"
    _stable_ids(ca)
    return ca


def dumps(nb) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def read_existing(path: Path):
    return nbformat.read(path, as_version=4) if path.exists() else None


def generate(md_path: Path, record=False):
    """Return {path: text} of every file generated from one source."""
    full_path = NOTEBOOKS / (md_path.stem + ".ipynb")
    nb = carry_references(from_source(md_path), read_existing(full_path))
    if record or missing_references(nb):
        if not record:
            raise SystemExit(
                f"{md_path.name}: cells tagged {CHECK_TAG} have no reference output yet: "
                f"run `python -m tools.notebooks build --record {md_path.stem}`")
        nb = record_references(nb, full_path)
    return {full_path: dumps(nb), CODE_ALONG / full_path.name: dumps(code_along(nb))}


def stale_files():
    """Generated files that differ from what their sources generate, or have no source."""
    problems = []
    expected = {}
    for md in episode_sources():
        full_path = NOTEBOOKS / (md.stem + ".ipynb")
        nb = carry_references(from_source(md), read_existing(full_path))
        missing = missing_references(nb)
        if missing:
            problems.append(f"{full_path.relative_to(ROOT)}: checked cells {missing} "
                            f"have no reference output")
        expected[full_path] = dumps(nb)
        expected[CODE_ALONG / full_path.name] = dumps(code_along(nb))
    for path, text in expected.items():
        rel = path.relative_to(ROOT)
        if not path.exists():
            problems.append(f"{rel}: missing")
        elif path.read_text() != text:
            problems.append(f"{rel}: differs from what episodes/{path.stem}.md generates "
                            f"(edited by hand, or not rebuilt)")
    on_disk = set(NOTEBOOKS.glob("*.ipynb")) | set(CODE_ALONG.glob("*.ipynb"))
    for path in sorted(on_disk - set(expected)):
        problems.append(f"{path.relative_to(ROOT)}: has no source in episodes/")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="regenerate notebooks/ from episodes/")
    b.add_argument("--record", action="store_true",
                   help="run the notebooks to refresh the reference outputs of checked cells")
    b.add_argument("episodes", nargs="*", help="episode names (default: all)")
    sub.add_parser("check", help="fail if a generated notebook is stale")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        problems = stale_files()
        for p in problems:
            print("stale:", p)
        if problems:
            print("Regenerate with: python -m tools.notebooks build")
            return 1
        print("notebooks are up to date with episodes/")
        return 0
    CODE_ALONG.mkdir(parents=True, exist_ok=True)
    chosen = [md for md in episode_sources()
              if not args.episodes or md.stem in args.episodes
              or md.stem.split("-")[0] in args.episodes]
    for md in chosen:
        for path, text in generate(md, record=args.record).items():
            old = path.read_text() if path.exists() else None
            if text != old:
                path.write_text(text)
                print("wrote", path.relative_to(ROOT))
    names = {md.stem + ".ipynb" for md in episode_sources()}
    for folder in (NOTEBOOKS, CODE_ALONG):
        for path in folder.glob("*.ipynb"):
            if path.name not in names:
                path.unlink()
                print("removed", path.relative_to(ROOT), "(its source is gone)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
