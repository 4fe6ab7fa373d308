"""'This code is episode 5's, unchanged': the optional episodes that train the lesson's model
again copy its build_cnn and compile_and_fit, ready to run, rather than import them from the
helper package, so that learners read the code they already know. Each copy must be the start
of episode 5's faded cell, character for character (the blanks' marks removed)."""
import pytest

from lessonrun import ROOT
from tools.notebooks import BLANK_MARK, from_source

COPIES = ["13-a-model-that-can-be-fooled", "14-learning-rate-schedules", "15-small-devices",
          "16-clean-data", "17-more-augmentation-and-vgg"]


def build_cnn_cell(name):
    cells = from_source(ROOT / "episodes" / f"{name}.md").cells
    return next(c.source for c in cells
                if c.cell_type == "code" and c.source.startswith("def build_cnn"))


@pytest.mark.parametrize("name", COPIES)
def test_the_episode_trains_episode_5s_model_code_unchanged(name):
    five = "\n".join(BLANK_MARK.sub("", line)
                     for line in build_cnn_cell("05-dropout").splitlines())
    mine = build_cnn_cell(name).strip()
    assert five.startswith(mine), f"{name}'s model differs from episode 5's"
