"""The notebooks are generated from episodes/: a stale or hand-edited one fails."""
import json
import shutil

import pytest

from tools import notebooks


def test_generated_notebooks_are_up_to_date():
    problems = notebooks.stale_files()
    assert not problems, "\n".join(problems) + "\nRegenerate with: make notebooks"


@pytest.fixture
def copy_of_lesson(tmp_path, monkeypatch):
    """The episodes and notebooks in a scratch folder, with the tool pointed at it."""
    shutil.copytree(notebooks.EPISODES, tmp_path / "episodes")
    shutil.copytree(notebooks.NOTEBOOKS, tmp_path / "notebooks")
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    monkeypatch.setattr(notebooks, "EPISODES", tmp_path / "episodes")
    monkeypatch.setattr(notebooks, "NOTEBOOKS", tmp_path / "notebooks")
    monkeypatch.setattr(notebooks, "CODE_ALONG", tmp_path / "notebooks" / "code-along")
    return tmp_path


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


def test_code_along_keeps_prose_and_empties_code():
    for md in notebooks.episode_sources():
        full = notebooks.carry_references(notebooks.from_source(md), None)
        ca = notebooks.code_along(full)
        md_full = [c.source for c in full.cells if c.cell_type == "markdown"]
        assert md_full == [c.source for c in ca.cells if c.cell_type == "markdown"]
        for cell in ca.cells:
            if cell.cell_type == "code":
                assert not cell.outputs
                assert cell.source == "" or "keep" in cell.metadata.get("tags", [])
                assert notebooks.NUMBERS_TAG not in cell.metadata.get("tags", [])
