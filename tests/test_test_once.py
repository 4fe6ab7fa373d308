"""Test once: episodes 6-10 and 12-17 touch the test set only in cells marked as the
final evaluation, after every look at the model's mistakes; no run is needed to check it.
Episode 16 also searches the test images for copies of training images, in cells tagged
test-images: those look at the images alone, never at their labels or at a model."""
import re
from pathlib import Path

import pytest

from tools.notebooks import from_source

ROOT = Path(__file__).resolve().parents[1]
EPISODES = ["06-evaluate-and-predict", "07-improve-training", "08-search-and-best-model",
            "09-save-and-share",
            "10-next-steps", "12-from-notebook-to-script", "13-a-model-that-can-be-fooled",
            "14-learning-rate-schedules", "15-small-devices", "16-clean-data",
            "17-more-augmentation-and-vgg"]
TEST_NAMES = re.compile(r"\b(x_test|y_test|x_target_test|y_target_test)\b")
FINAL = "final-evaluation"
# A cell that searches the test images themselves (for copies of training images, before any
# model is trained or scored): it may read x_test, but nothing that could score a model.
TEST_IMAGES = "test-images"
SCORING = re.compile(r"\b(y_test|y_target_test|model)\b|\.(predict|evaluate|fit)\(")
ERROR_ANALYSIS = re.compile(r"confusion_matrix|classification_report|\.predict\(")


def code_cells(name):
    nb = from_source(ROOT / "episodes" / f"{name}.md")
    return [c for c in nb.cells if c.cell_type == "code"
            and "lesson-numbers" not in c.metadata.get("tags", [])]


def is_final(cell):
    return FINAL in cell.metadata.get("tags", [])


def looks_at_test_images_only(cell):
    return TEST_IMAGES in cell.metadata.get("tags", []) and not SCORING.search(cell.source)


@pytest.mark.parametrize("name", EPISODES)
def test_the_test_set_is_used_only_in_final_evaluation_cells(name):
    bad = [c.source.splitlines()[0] for c in code_cells(name)
           if TEST_NAMES.search(c.source) and not is_final(c) and not looks_at_test_images_only(c)]
    assert not bad, (f"{name}.md uses the test set outside a cell tagged {FINAL!r}: "
                     f"analyse on the validation set, test once at the end: {bad}")


@pytest.mark.parametrize("name", ["06-evaluate-and-predict", "08-search-and-best-model"])
def test_the_test_set_is_evaluated_once_after_the_error_analysis(name):
    cells = code_cells(name)
    finals = [i for i, c in enumerate(cells) if is_final(c)]
    assert len(finals) == 1, f"{name}.md: expected one final evaluation cell, found {len(finals)}"
    (final,) = finals
    src = cells[final].source
    assert "evaluate(" in src and TEST_NAMES.search(src)
    later = [c.source.splitlines()[0] for c in cells[final + 1:]
             if ERROR_ANALYSIS.search(c.source) and "solution" not in c.metadata.get("tags", [])]
    assert not later, f"{name}.md analyses errors after the final test: {later}"


def test_error_analysis_of_episode_6_uses_the_validation_set():
    text = "\n".join(c.source for c in code_cells("06-evaluate-and-predict"))
    assert "confusion_matrix(data.y_val" in text
    assert "classification_report(data.y_val" in text
    assert "y_pred != data.y_val" in text


def test_cells_tagged_test_images_read_no_labels_and_no_model():
    """The tag test-images lets a cell read the test images, not score a model on them."""
    tagged = [c for name in EPISODES for c in code_cells(name)
              if TEST_IMAGES in c.metadata.get("tags", [])]
    assert tagged, "episode 16 searches the test images in cells tagged test-images"
    bad = [c.source.splitlines()[0] for c in tagged if SCORING.search(c.source)]
    assert not bad, f"cells tagged {TEST_IMAGES!r} that use labels or a model: {bad}"
    assert not any(is_final(c) for c in tagged), "a cell is either one or the other"
