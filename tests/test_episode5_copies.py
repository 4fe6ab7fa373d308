"""'This code is episode 5's, unchanged': episode 6 and the optional episodes that train the
lesson's model again copy its build_cnn and compile_and_fit, ready to run, rather than
import them from the helper package, so that learners read the code they already know. Each
copy must be the start of episode 5's faded cell, character for character (the blanks' marks
removed)."""
import pytest

from lessonrun import ROOT
from tools.notebooks import from_source, unmark

COPIES = ["06-evaluate-and-predict", "13-a-model-that-can-be-fooled",
          "14-learning-rate-schedules", "15-small-devices", "16-clean-data",
          "17-more-augmentation-and-vgg"]


def build_cnn_cell(name):
    cells = from_source(ROOT / "episodes" / f"{name}.md").cells
    return next(c.source for c in cells
                if c.cell_type == "code" and c.source.startswith("def build_cnn"))


@pytest.mark.parametrize("name", COPIES)
def test_the_episode_trains_episode_5s_model_code_unchanged(name):
    five = unmark(build_cnn_cell("05-dropout"))
    mine = build_cnn_cell(name).strip()
    assert five.startswith(mine), f"{name}'s model differs from episode 5's"


def test_episode_7s_build_model_is_episode_5s_cnn_with_its_switches_off():
    """Episodes 7-9 build the lesson's model with episode 7's build_model(cfg). With
    augmentation and batch normalization off, it must be episode 5's build_cnn(dropout):
    the same layers with the same settings, and so the same parameters."""
    from dataclasses import dataclass, replace

    import keras
    from keras import layers

    from tools.notebooks import code_cells
    five = unmark(build_cnn_cell("05-dropout"))
    ns5 = {"keras": keras, "SEED": 42}
    exec(five, ns5)
    seven = code_cells(ROOT / "episodes" / "08-search-and-best-model.md",
                       ("run-config", "search-model"))
    ns7 = {"keras": keras, "layers": layers, "dataclass": dataclass, "SEED": 42}
    for source in seven.values():
        exec(source, ns7)

    def layout(model):
        return [(type(layer).__name__,
                 {k: v for k, v in layer.get_config().items() if k != "name"})
                for layer in model.layers]

    for dropout in (0.0, 0.5):
        cnn = ns5["build_cnn"](dropout)
        model = ns7["build_model"](replace(ns7["RunConfig"](), dropout=dropout))
        assert layout(model) == layout(cnn)
        assert model.count_params() == cnn.count_params() == 188_810
