"""Generate the notebooks from the episodes' single source.

    python -m tools.notebooks build            # episodes/*.md -> every copy listed below
    python -m tools.notebooks check            # exit 1 if any generated file is stale or hand-edited
    python -m tools.notebooks count            # lines learners type in the code-along notebooks
    python -m tools.executed record NN         # re-run a notebook to refresh its reference outputs

Generating needs only jupytext and nbformat (no TensorFlow, no kernel): recording the
reference outputs, which runs the notebook, lives in ``tools/executed.py``.

Each episode is one MyST Markdown file, ``episodes/NN-name.md`` (read by jupytext).
Four notebooks are made from it, one per reader:

* ``notebooks/NN-name.ipynb``: the **learner** notebook. No outputs, no instructor
  notes, no test plumbing (the ``lesson-numbers`` cell). Solutions are collapsed
  when the notebook opens: their code cells are hidden in JupyterLab
  (``jupyter.source_hidden``/``outputs_hidden``) and shown as a form titled
  "Solution" in Colab (``cellView: form`` and a ``# @title`` line); their prose sits
  in a ``<details>`` block that opens on click.
* ``notebooks/code-along/NN-name.ipynb``: the **workshop** version: the same
  headings, prose and challenges, but no solutions (neither code nor answer prose,
  nor the ``<details>`` answers of quick checks),
  and the code cells that learners type are empty. Cells tagged ``keep`` keep their
  code; cells tagged ``faded`` keep their code with blanks (``___``) where a line
  of the source ends with the marker comment ``# ___``.
* ``instructors/notebooks/NN-name.ipynb``: the **instructor** copy: everything,
  instructor notes and open solutions included, and the reference outputs of the
  cells tagged ``nbval-check-output`` (shapes, class names, parameter counts...),
  recorded from a real run (``python -m tools.executed record NN``) and carried over
  while a cell's code is unchanged.
* ``_build/test-notebooks/NN-name.ipynb`` (not committed): the **test** build that
  nbval runs: the instructor copy plus the plumbing, i.e. the ``lesson-numbers``
  cell and, after the cell that sets ``SEED``, a hidden cell that lets the
  environment variable ``CNNLESSON_SEED`` replace it (``CNNLESSON_SEED=7 make
  test`` checks the lesson under another seed). ``conftest.py`` writes it at the
  start of every pytest run.

``count_typed_lines()`` is the figure the benchmark prints: non-blank, non-comment
lines of lesson code that learners type in the code-along notebooks of the core
(episodes 01-05), one per blank in a faded example, solutions not included.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import re
import sys
from pathlib import Path

import jupytext
import nbformat

from tools.facts import (CODE_ALONG, CORE, EPISODES, FULL_CODE, NOTEBOOKS, NUMBERS_TAG,
                         ROOT, SEED_ENV, TEST_BUILD, code_fingerprint)
from tools.facts import INSTRUCTOR_NOTEBOOKS as INSTRUCTOR

CHECK_TAG = "nbval-check-output"
KEEP_TAG = "keep"
FADED_TAG = "faded"
SOLUTION_TAG = "solution"
SEED_TAG = "lesson-seed"
# A cell that a tool runs (the lab re-runs episode 8's training cells, for instance)
# carries a tag ``reuse-NAME``; tools ask for cells by that name, never by their text.
REUSE_PREFIX = "reuse-"
# A cell whose run time the benchmark reports as NAME_seconds carries ``time-NAME`` (the
# notebook need not time itself: no timing code in the learners' copies).
TIME_PREFIX = "time-"
# A cell that may take longer than the cell budget because what it shows cannot be
# shown faster (the best model's training); the text before it says so, with its time.
LONG_RUN_TAG = "long-run"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

HEADING = re.compile(r"^#{1,6} ")
SOLUTION_HEADING = re.compile(r"^#{3,4} Solution\b")
INSTRUCTOR_NOTE = re.compile(r"^>\s*\*\*Instructor note")
BLANK_MARK = re.compile(r"\s*# ___\s*$")
# the answer of a quick check (the code-along leaves it out); a "For the curious" aside,
# also a <details> block, stays in every reader's copy, closed until clicked
DETAILS = re.compile(r"^<details><summary>Answer\b.*?^</details>\s*?$", re.S | re.M)
# The markers that tie a quoted number to a run or a measurement (tests/lessonrun.py,
# tools/quotes.py): for the tests, so the readers' copies leave them out.
NUMBER_MARKER = re.compile(r"<!--\s*(?:lab:[\w.\-]+|[A-Za-z_]\w*\s*(?:±\s*[\d.]+\s*%?)?)\s*-->")
SEED_LINE = re.compile(r"^SEED = (\d+)\s*$", re.M)
SEED_CELL = ('# Test plumbing (not in the learners\' notebooks): CNNLESSON_SEED replaces the seed.\n'
             'import os\n'
             f'SEED = int(os.environ.get("{SEED_ENV}", SEED))')


def episode_sources():
    return sorted(EPISODES.glob("[0-9][0-9]-*.md"))


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _set_tags(cell, new):
    if new:
        cell.metadata["tags"] = new
    else:
        cell.metadata.pop("tags", None)


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


def code_cells(md_path: Path, names):
    """{name: source} of the code cells of an episode tagged ``reuse-NAME`` for each of
    ``names``: for the tools that run an episode's own definitions (the lab's sweep and
    best-model bench) instead of keeping copies of them. A name no cell carries, or two
    cells carry, is one clear error."""
    found = {}
    for cell in from_source(md_path).cells:
        for tag in tags(cell):
            name = tag[len(REUSE_PREFIX):] if tag.startswith(REUSE_PREFIX) else None
            if name in names:
                if name in found:
                    raise SystemExit(f"{md_path.name}: two cells are tagged {tag}")
                found[name] = cell.source
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"{md_path.name}: no code cell is tagged "
                         + ", ".join(REUSE_PREFIX + n for n in missing))
    return {n: found[n] for n in names}


def episode_fingerprint(stem: str) -> str | None:
    """The code fingerprint (tools.facts.code_fingerprint) of ``episodes/STEM.md``."""
    src = EPISODES / f"{stem}.md"
    return code_fingerprint(from_source(src)) if src.exists() else None


def cells_fingerprint(stem: str, names) -> str | None:
    """The fingerprint of the cells of ``episodes/STEM.md`` tagged ``reuse-NAME`` for
    ``names``: what a lab measurement that runs only those cells depends on."""
    src = EPISODES / f"{stem}.md"
    if not src.exists():
        return None
    try:
        cells = code_cells(src, list(names))
    except SystemExit:  # a tag is gone: the measurement no longer matches the episode
        return None
    return hashlib.sha256("\n\0".join(cells.values()).encode()).hexdigest()


def _reader_tags(cell):
    """A cell's tags as readers' copies keep them: without the tests' and tools' own."""
    return [t for t in tags(cell) if t != CHECK_TAG
            and not t.startswith((REUSE_PREFIX, TIME_PREFIX))]


# ----------------------------------------------------------------- reading the source

def strip_instructor_notes(text: str) -> str:
    """Markdown without its ``> **Instructor note: ...**`` blockquotes."""
    out, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if INSTRUCTOR_NOTE.match(lines[i]):
            while i < len(lines) and lines[i].startswith(">"):
                i += 1
            while i < len(lines) and not lines[i].strip() and (not out or not out[-1].strip()):
                i += 1  # no double blank line where the note was
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out).strip("\n")


def segments(nb):
    """Walk the cells in order: yield (cell, parts) where, for a markdown cell, parts is
    a list of (is_solution, text) runs of lines, and for a code cell, a bool: whether
    it belongs to a challenge's solution. A solution starts at a ``### Solution``
    heading (or ``####``) and ends at the next heading."""
    in_solution = False
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield cell, in_solution or SOLUTION_TAG in tags(cell)
            continue
        runs = []
        for line in cell.source.split("\n"):
            if HEADING.match(line):
                in_solution = bool(SOLUTION_HEADING.match(line))
            if runs and runs[-1][0] == in_solution:
                runs[-1][1].append(line)
            else:
                runs.append((in_solution, [line]))
        yield cell, [(sol, "\n".join(lines)) for sol, lines in runs]


def _md(cell, text):
    """A copy of a Markdown cell with ``text``, without the number markers."""
    new = copy.deepcopy(cell)
    new.source = NUMBER_MARKER.sub("", text)
    return new


def unmark(source):
    """A faded example's source as learners read it in full: the blank marks removed."""
    return "\n".join(BLANK_MARK.sub("", line) for line in source.split("\n"))


def fade(source):
    """The code of a faded example: each line marked ``# ___`` becomes a blank."""
    out = []
    for line in source.split("\n"):
        if not BLANK_MARK.search(line):
            out.append(line)
            continue
        code = BLANK_MARK.sub("", line)
        m = re.match(r"^(\s*)((?:[\w.\[\]\"']+\s*=(?!=)\s*)?)(.*?)(,?)$", code)
        out.append(f"{m[1]}{m[2]}___{m[4]}")
    return "\n".join(out)


# ----------------------------------------------------------------- the four copies

def _finish(nb, version):
    nb.metadata["lesson"]["version"] = version
    _stable_ids(nb)
    return nb


def test_build(nb):
    """The notebook nbval runs: everything, plus the seed cell (see the module docstring)."""
    tb = copy.deepcopy(nb)
    cells = []
    seeded = False
    for cell in tb.cells:
        if cell.cell_type == "code":
            cell.source = unmark(cell.source)
        cells.append(cell)
        if cell.cell_type == "code" and not seeded and SEED_LINE.search(cell.source):
            seed = nbformat.v4.new_code_cell(SEED_CELL)
            seed.metadata["tags"] = [SEED_TAG, "remove-cell"]
            cells.append(seed)
            seeded = True
    tb.cells = cells
    return _finish(tb, "test build: the instructor copy plus the tests' plumbing")


def instructor_copy(nb):
    """Everything a teacher needs: notes, open solutions, reference outputs; no plumbing."""
    ic = copy.deepcopy(nb)
    ic.cells = [c for c in ic.cells if NUMBERS_TAG not in tags(c)]
    for cell in ic.cells:
        if cell.cell_type == "code":
            cell.source = unmark(cell.source)
    return _finish(ic, "instructor copy: with instructor notes and open solutions")


def _collapse_answers(parts, opening):
    """Markdown of a cell's parts: instructor notes dropped, each answer in a closed
    ``<details>`` block (``opening`` is its start tag) under its heading."""
    text = []
    for is_solution, chunk in parts:
        chunk = strip_instructor_notes(chunk)
        if not is_solution:
            text.append(chunk)
            continue
        heading, _, rest = chunk.partition("\n") if SOLUTION_HEADING.match(chunk) else ("", "", chunk)
        if heading:
            text.append(heading)
        if rest.strip():
            text.append(opening + "<summary>Show the answer</summary>\n\n" + rest.strip()
                        + "\n\n</details>")
    return "\n\n".join(t.strip("\n") for t in text if t.strip())


def _without_plumbing(nb):
    """A copy of ``nb`` and its (cell, parts) segments for learners' copies: no
    ``lesson-numbers`` cell, no stored outputs."""
    src = copy.deepcopy(nb)
    pairs = []
    for cell, parts in segments(src):
        if NUMBERS_TAG in tags(cell):
            continue
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        pairs.append((cell, parts))
    return src, pairs


def learner(nb):
    """No outputs, no instructor notes, no plumbing; solutions collapsed until asked for.
    A faded example shows its blanks, with the full code in a closed block under it: a
    learner working alone meets the same exercise as one in a workshop."""
    src, pairs = _without_plumbing(nb)
    cells = []
    for cell, parts in pairs:
        if cell.cell_type == "code":
            if FADED_TAG in tags(cell) and not parts:
                full = unmark(cell.source)
                cell.source = fade(cell.source)
                _set_tags(cell, _reader_tags(cell))
                cells += [cell, nbformat.v4.new_markdown_cell(
                    FULL_CODE + "\n\n```python\n"
                    + full + "\n```\n\n</details>")]
                continue
            cell.source = unmark(cell.source)
            if parts:  # a solution
                cell.source = "# @title Solution\n" + cell.source
                cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
                cell.metadata["cellView"] = "form"
            _set_tags(cell, _reader_tags(cell))
            cells.append(cell)
            continue
        text = _collapse_answers(parts, "<details>")
        if text:
            cells.append(_md(cell, text))
    src.cells = cells
    return _finish(src, "learner: solutions collapsed, click to open")


def code_along(nb):
    """The workshop version: no solutions, no notes, typed code cells emptied."""
    src, pairs = _without_plumbing(nb)
    cells = []
    for cell, parts in pairs:
        if cell.cell_type == "code":
            if parts:
                continue  # solution code
            if FADED_TAG in tags(cell):
                cell.source = fade(cell.source)
            elif KEEP_TAG not in tags(cell):
                cell.source = ""
            _set_tags(cell, _reader_tags(cell))
            cells.append(cell)
            continue
        text = "\n".join(strip_instructor_notes(chunk) for sol, chunk in parts if not sol)
        text = DETAILS.sub("", text)  # the answers of quick checks, too
        text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
        if text:
            cells.append(_md(cell, text))
    src.cells = cells
    return _finish(src, "code-along: type the code yourself")


# ----------------------------------------------------------------- the website

def site_view(nb):
    """An executed notebook as the learners' web page shows it: outputs kept, instructor
    notes removed, each solution collapsed under its challenge (its code cells tagged
    ``hide-cell``, which MyST-NB shows as a dropdown that opens on click, and its prose
    in a ``<details>`` block)."""
    view = copy.deepcopy(nb)
    cells = []
    for cell, parts in segments(view):
        if cell.cell_type == "code":
            if parts and "hide-cell" not in tags(cell):
                _set_tags(cell, tags(cell) + ["hide-cell"])
            cells.append(cell)
            continue
        text = _collapse_answers(parts, "<details class=\"lesson-solution\">")
        if text:
            cells.append(_md(cell, text))
    view.cells = cells
    return view


def instructor_notes_markdown():
    """Every episode's instructor notes, under the episode's title: the instructors' page
    shows them (the learners' pages and notebooks do not)."""
    out = []
    for md in episode_sources():
        text = md.read_text()
        title = re.search(r"^# (.+)$", text, re.M)
        notes, lines, i = [], text.split("\n"), 0
        while i < len(lines):
            if INSTRUCTOR_NOTE.match(lines[i]):
                block = []
                while i < len(lines) and lines[i].startswith(">"):
                    block.append(lines[i])
                    i += 1
                notes.append("\n".join(block))
                continue
            i += 1
        if notes:
            out.append(f"### {title[1].strip() if title else md.stem}\n\n" + "\n\n".join(notes))
    return "\n\n".join(out) if out else "No instructor notes yet."


# ----------------------------------------------------------------- reference outputs

def carry_references(nb, old):
    """Copy the reference outputs of checked cells whose code is unchanged."""
    pool = {}
    if old is not None:
        for cell in old.cells:
            if cell.cell_type == "code" and CHECK_TAG in tags(cell) and cell.outputs:
                pool.setdefault(unmark(cell.source), []).append(cell)
    for cell in nb.cells:
        key = unmark(cell.source)
        if cell.cell_type == "code" and CHECK_TAG in tags(cell) and pool.get(key):
            ref = pool[key].pop(0)
            cell.outputs = copy.deepcopy(ref.outputs)
            cell.execution_count = ref.execution_count
    return nb


def missing_references(nb):
    return [i for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and CHECK_TAG in tags(c) and not c.outputs]


def dumps(nb) -> str:
    return nbformat.writes(nb, version=4) + "\n"


def read_existing(path: Path):
    return nbformat.read(path, as_version=4) if path.exists() else None


def old_references(stem):
    """Where the reference outputs were kept: the instructor copy (or, before there was
    one, the full notebook in notebooks/)."""
    for path in (INSTRUCTOR / f"{stem}.ipynb", NOTEBOOKS / f"{stem}.ipynb"):
        nb = read_existing(path)
        if nb is not None and any(c.get("outputs") for c in nb.cells if c.cell_type == "code"):
            return nb
    return None


def full(md_path: Path):
    """The whole notebook of one source, with its reference outputs."""
    nb = carry_references(from_source(md_path), old_references(md_path.stem))
    if missing_references(nb):
        raise SystemExit(
            f"{md_path.name}: cells tagged {CHECK_TAG} have no reference output yet: "
            f"run `python -m tools.executed record {md_path.stem}`")
    return nb


def copies(nb, stem):
    """{path: text} of the committed copies made from the whole notebook ``nb``."""
    name = stem + ".ipynb"
    return {NOTEBOOKS / name: dumps(learner(nb)),
            CODE_ALONG / name: dumps(code_along(nb)),
            INSTRUCTOR / name: dumps(instructor_copy(nb))}


def generate(md_path: Path, nb=None):
    """Return {path: text} of every file generated from one source (test build
    included); ``nb``: its whole notebook, when the caller already has it."""
    nb = full(md_path) if nb is None else nb
    out = copies(nb, md_path.stem)
    out[TEST_BUILD / (md_path.stem + ".ipynb")] = dumps(test_build(nb))
    return out


def write_test_build(log=None):
    """Write _build/test-notebooks/ from the sources (what nbval runs); return its folder.
    When a notebook that saves a model changed, the models and histories saved there by
    earlier runs are removed, so that no notebook reuses a model trained by older code
    (episode 5 loads what episode 4 saved)."""
    TEST_BUILD.mkdir(parents=True, exist_ok=True)
    names = set()
    for md in episode_sources():
        nb = carry_references(from_source(md), old_references(md.stem))
        path = TEST_BUILD / (md.stem + ".ipynb")
        names.add(path.name)
        text = dumps(test_build(nb))
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            if ".save(" in text:
                for stale in [*TEST_BUILD.glob("*.keras"), *TEST_BUILD.glob("*-history.csv")]:
                    stale.unlink(missing_ok=True)
            if log:
                log(f"wrote {path.relative_to(ROOT)}")
    for path in TEST_BUILD.glob("*.ipynb"):
        if path.name not in names:
            path.unlink()
    return TEST_BUILD


def stale_files():
    """Generated files that differ from what their sources generate, or have no source."""
    problems = []
    expected = {}
    for md in episode_sources():
        nb = carry_references(from_source(md), old_references(md.stem))
        missing = missing_references(nb)
        if missing:
            problems.append(f"episodes/{md.name}: checked cells {missing} have no reference "
                            f"output: run `python -m tools.executed record {md.stem}`")
        expected.update(copies(nb, md.stem))
    for path, text in expected.items():
        rel = path.relative_to(ROOT)
        if not path.exists():
            problems.append(f"{rel}: missing")
        elif path.read_text() != text:
            problems.append(f"{rel}: differs from what episodes/{path.stem}.md generates "
                            f"(edited by hand, or not rebuilt)")
    on_disk = set()
    for folder in (NOTEBOOKS, CODE_ALONG, INSTRUCTOR):
        on_disk |= set(folder.glob("*.ipynb"))
    for path in sorted(on_disk - set(expected)):
        problems.append(f"{path.relative_to(ROOT)}: has no source in episodes/")
    return problems


# ----------------------------------------------------------------- how much learners type

def _code_lines(source):
    return [line for line in source.split("\n")
            if line.strip() and not line.strip().startswith("#")]


def typed_lines(md_path: Path, faded_in_full=False):
    """Lines a learner types in the code-along notebook of one episode: every non-blank,
    non-comment line of the cells emptied there, and one per blank of a faded example
    (with ``faded_in_full``, every code line of a faded example, the strictest reading:
    a learner who retypes the example instead of filling its blanks)."""
    n = 0
    for cell, is_solution in segments(from_source(md_path)):
        if cell.cell_type != "code" or is_solution or NUMBERS_TAG in tags(cell):
            continue
        if FADED_TAG in tags(cell) and not faded_in_full:
            n += sum(1 for line in cell.source.split("\n") if BLANK_MARK.search(line))
        elif KEEP_TAG not in tags(cell):
            n += len(_code_lines(cell.source))
    return n


def count_typed_lines(episodes=CORE, faded_in_full=False):
    """{episode: lines typed} for the core's code-along notebooks, and the total."""
    counts = {md.stem: typed_lines(md, faded_in_full) for md in episode_sources()
              if md.stem.split("-")[0] in episodes}
    return counts, sum(counts.values())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="regenerate the notebooks from episodes/")
    b.add_argument("episodes", nargs="*", help="episode names (default: all)")
    sub.add_parser("check", help="fail if a generated notebook is stale")
    sub.add_parser("count", help="lines learners type in the core's code-along notebooks")
    args = ap.parse_args(argv)
    if args.cmd == "count":
        counts, total = count_typed_lines()
        for name, n in counts.items():
            print(f"{name}: {n} lines to type")
        print(f"core lesson (episodes {CORE[0]}-{CORE[-1]}): {total} lines typed in the "
              f"code-along notebooks (solutions not included); "
              f"{count_typed_lines(faded_in_full=True)[1]} if every line of the faded "
              f"examples is counted, not only their blanks")
        return 0
    if args.cmd == "check":
        problems = stale_files()
        for p in problems:
            print("stale:", p)
        if problems:
            print("Regenerate with: python -m tools.notebooks build")
            return 1
        print("notebooks are up to date with episodes/")
        return 0
    for md in choose(args.episodes):
        write_generated(generate(md))
    remove_orphans()
    return 0


def choose(episodes):
    """The sources named by number or name (all of them for none)."""
    return [md for md in episode_sources()
            if not episodes or md.stem in episodes or md.stem.split("-")[0] in episodes]


def write_generated(files):
    """Write {path: text}, leaving unchanged files untouched."""
    for folder in (CODE_ALONG, INSTRUCTOR, TEST_BUILD):
        folder.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        old = path.read_text() if path.exists() else None
        if text != old:
            path.write_text(text)
            print("wrote", path.relative_to(ROOT))


def remove_orphans():
    """Remove generated notebooks whose source is gone."""
    names = {md.stem + ".ipynb" for md in episode_sources()}
    for folder in (NOTEBOOKS, CODE_ALONG, INSTRUCTOR, TEST_BUILD):
        for path in folder.glob("*.ipynb"):
            if path.name not in names:
                path.unlink()
                print("removed", path.relative_to(ROOT), "(its source is gone)")


if __name__ == "__main__":
    sys.exit(main())
