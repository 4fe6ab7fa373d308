"""The notebooks are generated from episodes/: a stale or hand-edited one fails, and
each reader's copy holds what that reader needs and nothing else:

- learner (notebooks/): no outputs, no instructor notes, no test plumbing, solutions
  collapsed (JupyterLab and Colab) and their prose behind a click;
- code-along (notebooks/code-along/): no solutions at all, typed code emptied;
- instructor copy (instructors/notebooks/): everything, notes and reference outputs;
- test build (_build/test-notebooks/): the instructor copy plus the plumbing.
"""
import json
import re
import shutil

import nbformat
import pytest

from tools import notebooks

SOURCES = notebooks.episode_sources()
IDS = [md.stem for md in SOURCES]


@pytest.fixture
def copy_of_lesson(tmp_path, monkeypatch):
    """The episodes and notebooks in a scratch folder, with the tool pointed at it."""
    shutil.copytree(notebooks.EPISODES, tmp_path / "episodes")
    shutil.copytree(notebooks.NOTEBOOKS, tmp_path / "notebooks")
    shutil.copytree(notebooks.INSTRUCTOR, tmp_path / "instructors" / "notebooks")
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "EPISODES", tmp_path / "episodes")
    monkeypatch.setattr(notebooks, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(notebooks, "CODE_ALONG", tmp_path / "notebooks" / "code-along")
    monkeypatch.setattr(notebooks, "INSTRUCTOR", tmp_path / "instructors" / "notebooks")
    monkeypatch.setattr(notebooks, "TEST_BUILD", tmp_path / "_build" / "test-notebooks")
    return tmp_path


def test_generated_notebooks_are_up_to_date():
    problems = notebooks.stale_files()
    assert not problems, "\n".join(problems) + "\nRegenerate with: make notebooks"


def test_a_hand_edit_is_caught(copy_of_lesson):
    assert notebooks.stale_files() == []
    path = sorted((copy_of_lesson / "notebooks").glob("*.ipynb"))[0]
    nb = json.loads(path.read_text())
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["source"] = "print('edited by hand')"
    path.write_text(json.dumps(nb, indent=1) + "\n")
    assert any(path.name in p and "by hand" in p for p in notebooks.stale_files())


def test_an_unbuilt_source_change_is_caught(copy_of_lesson):
    md = sorted((copy_of_lesson / "episodes").glob("[0-9]*.md"))[0]
    md.write_text(md.read_text() + "\nA new paragraph.\n")
    assert any(md.stem in p for p in notebooks.stale_files())
    notebooks.main(["build", md.stem])
    assert notebooks.stale_files() == []
    assert (copy_of_lesson / "_build" / "test-notebooks" / f"{md.stem}.ipynb").exists()


def _whole(md):
    return notebooks.carry_references(notebooks.from_source(md), notebooks.old_references(md.stem))


def _tags(cell):
    return cell.metadata.get("tags", [])


def _solution_flags(md):
    return [(c, sol) for c, sol in notebooks.segments(notebooks.from_source(md))]


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_learner_notebook_has_no_plumbing_outputs_or_notes(md):
    nb = notebooks.learner(_whole(md))
    for cell in nb.cells + notebooks.code_along(_whole(md)).cells:
        assert notebooks.NUMBERS_TAG not in _tags(cell)
        assert notebooks.SEED_TAG not in _tags(cell)
        assert not any(t.startswith((notebooks.REUSE_PREFIX, notebooks.TIME_PREFIX))
                       for t in _tags(cell)), "the tools' tags stay out of the readers' copies"
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert "# ___" not in cell.source, "faded-example markers are for the build only"
        else:
            assert "Instructor note" not in cell.source
            assert not notebooks.NUMBER_MARKER.search(cell.source), (
                "the markers that tie a number to a run are for the tests, not for readers")


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_learner_notebook_hides_solutions_until_asked(md):
    nb = notebooks.learner(_whole(md))
    code = [c for c in nb.cells if c.cell_type == "code"]
    whole = [c for c, sol in _solution_flags(md)
             if c.cell_type == "code" and notebooks.NUMBERS_TAG not in _tags(c)]
    assert len(code) == len(whole)
    for cell, (orig, is_solution) in zip(code, [(c, s) for c, s in _solution_flags(md)
                                                 if c.cell_type == "code"
                                                 and notebooks.NUMBERS_TAG not in _tags(c)]):
        hidden = cell.metadata.get("jupyter", {})
        if is_solution:
            assert hidden == {"source_hidden": True, "outputs_hidden": True}
            assert cell.metadata.get("cellView") == "form"
            assert cell.source.startswith("# @title Solution\n")
        else:
            assert not hidden and "cellView" not in cell.metadata
    # the answers' prose opens on click
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for heading in re.findall(r"^#{3,4} Solution.*$", text, re.M):
        after = text.split(heading, 1)[1].split("\n## ", 1)[0]
        prose = [line for line in after.split("\n") if line.strip() and not line.startswith("#")]
        if prose:
            assert "<details>" in after, f"{md.stem}: answer prose after {heading!r} is not collapsed"


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_code_along_has_no_solutions_and_empties_typed_code(md):
    whole = _whole(md)
    ca = notebooks.code_along(whole)
    text = "\n".join(c.source for c in ca.cells if c.cell_type == "markdown")
    assert not re.search(r"^#{3,4} Solution", text, re.M), "no solution headings or answers"
    assert "Instructor note" not in text
    n_challenges = len(re.findall(r"^#{2,3} Challenge", md.read_text(), re.M))
    assert len(re.findall(r"^#{2,3} Challenge", text, re.M)) == n_challenges, "challenges stay"
    solution_sources = {c.source for c, sol in _solution_flags(md) if c.cell_type == "code" and sol}
    for cell in ca.cells:
        if cell.cell_type != "code":
            continue
        assert not cell.outputs
        assert notebooks.NUMBERS_TAG not in _tags(cell)
        assert notebooks.SOLUTION_TAG not in _tags(cell)
        assert cell.source == "" or cell.source not in solution_sources or "keep" in _tags(cell)
        if notebooks.FADED_TAG in _tags(cell):
            assert "___" in cell.source and "# ___" not in cell.source
        elif "keep" not in _tags(cell):
            assert cell.source == ""


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_instructor_copy_and_test_build_have_everything(md):
    whole = _whole(md)
    ic = notebooks.instructor_copy(whole)
    tb = notebooks.test_build(whole)
    assert "Instructor note" in md.read_text() or True
    src_notes = md.read_text().count("**Instructor note")
    assert sum(c.source.count("**Instructor note") for c in ic.cells) == src_notes
    assert not any(notebooks.NUMBERS_TAG in _tags(c) for c in ic.cells)
    numbers = [c for c in tb.cells if notebooks.NUMBERS_TAG in _tags(c)]
    assert len(numbers) == 1 and "quoted_numbers(" in numbers[0].source
    if notebooks.SEED_LINE.search(md.read_text()):
        seed = [i for i, c in enumerate(tb.cells) if notebooks.SEED_TAG in _tags(c)]
        assert len(seed) == 1 and "remove-cell" in _tags(tb.cells[seed[0]])
        assert notebooks.SEED_LINE.search(tb.cells[seed[0] - 1].source), "right after SEED ="


def test_fading_blanks_the_marked_lines_only():
    src = ('x = 1\nmodel.fit(\n    epochs=20,  # ___\n    verbose=2,\n)\n'
           'keras.layers.Dropout(rate),  # ___\ny = f(x)  # ___')
    assert notebooks.fade(src) == ('x = 1\nmodel.fit(\n    epochs=___,\n    verbose=2,\n)\n'
                                   '___,\ny = ___')


def test_learners_type_at_most_200_lines_in_the_core():
    counts, total = notebooks.count_typed_lines()
    assert set(counts) == {md.stem for md in SOURCES if md.stem[:2] in notebooks.CORE}
    assert total <= 200, f"learners type {total} lines in the code-along notebooks of 01-05: {counts}"
    counts, strict = notebooks.count_typed_lines(faded_in_full=True)
    assert total < strict <= 200, f"{strict} lines counting the faded examples in full: {counts}"
    faded = sum(1 for md in SOURCES if md.stem[:2] in notebooks.CORE
                for c in notebooks.from_source(md).cells if notebooks.FADED_TAG in _tags(c))
    assert faded >= 2, "at least two faded examples in the core"


def test_the_committed_learner_files_are_what_the_build_makes():
    for md in SOURCES:
        path = notebooks.NOTEBOOKS / f"{md.stem}.ipynb"
        nb = nbformat.read(path, as_version=4)
        assert not any(notebooks.NUMBERS_TAG in _tags(c) for c in nb.cells), path.name


@pytest.mark.parametrize("md", SOURCES, ids=IDS)
def test_site_view_collapses_solutions_and_drops_instructor_notes(md):
    tb = notebooks.test_build(_whole(md))
    view = notebooks.site_view(tb)
    flags = {id(c): sol for c, sol in notebooks.segments(view)}
    for cell in view.cells:
        if cell.cell_type == "markdown":
            assert "Instructor note" not in cell.source
        elif flags[id(cell)]:
            assert "hide-cell" in _tags(cell), f"{md.stem}: solution code shown open on the site"
    text = "\n".join(c.source for c in view.cells if c.cell_type == "markdown")
    if re.search(r"^#{3,4} Solution", text, re.M):
        assert "<details" in text or all(
            not line.strip() for line in text.split("Solution", 1)[1].split("\n## ", 1)[0].split("\n")[1:])
    notes = notebooks.instructor_notes_markdown()
    if "**Instructor note" in md.read_text():
        title = re.search(r"^# (.+)$", md.read_text(), re.M)[1].strip()
        assert f"### {title}" in notes


def test_tools_find_an_episodes_cells_by_their_tags(tmp_path):
    md = tmp_path / "07-x.md"
    md.write_text("---\njupytext:\n  text_representation:\n    format_name: myst\n---\n\n"
                  "# Title\n\n```{code-cell} ipython3\n:tags: [keep, reuse-model]\n\n"
                  "def model():\n    return 1\n```\n\n```{code-cell} ipython3\n"
                  "# mentions def model() but is not tagged\nx = 2\n```\n")
    assert notebooks.code_cells(md, ["model"]) == {"model": "def model():\n    return 1"}
    with pytest.raises(SystemExit, match="no code cell is tagged reuse-fit"):
        notebooks.code_cells(md, ["model", "fit"])


def test_readers_copies_keep_the_numbers_without_their_markers():
    text = ("reaches 0.62<!--best_val_acc±0.03--> after 122,570<!--n_params--> parameters, "
            "62%<!--acc±3-->, 93<!--lab:bench.04.fit_seconds--> s, 0.3<!--fixed--> and <!-- a note -->")
    cell = notebooks.nbformat.v4.new_markdown_cell(text)
    assert notebooks._md(cell, text).source == (
        "reaches 0.62 after 122,570 parameters, 62%, 93 s, 0.3 and <!-- a note -->")


def test_an_aside_for_the_curious_stays_in_the_code_along_and_an_answer_does_not():
    text = ("**Quick check.** Which?\n\n1. a\n2. b\n\n<details><summary>Answer</summary>\n\n"
            "2, because.\n\n</details>\n\n<details><summary>For the curious: more</summary>"
            "\n\nDepth.\n\n</details>")
    nb = notebooks.nbformat.v4.new_notebook(cells=[notebooks.nbformat.v4.new_markdown_cell(text)])
    nb.metadata["lesson"] = {}
    along = notebooks.code_along(nb).cells[0].source
    assert "Depth." in along and "2, because." not in along


@pytest.mark.parametrize("md", [m for m in SOURCES if "faded" in m.read_text()],
                         ids=[m.stem for m in SOURCES if "faded" in m.read_text()])
def test_learners_on_their_own_see_faded_examples_with_the_full_code_closed(md):
    whole = _whole(md)
    faded = [c for c in whole.cells if notebooks.FADED_TAG in _tags(c)]
    nb = notebooks.learner(whole)
    for cell in faded:
        blanks = notebooks.fade(cell.source)
        i = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source == blanks)
        assert "___" in nb.cells[i].source
        after = nb.cells[i + 1]
        assert after.cell_type == "markdown" and after.source.startswith("<details>")
        assert notebooks.unmark(cell.source) in after.source, "the full code, closed"
