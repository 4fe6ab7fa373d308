"""Episode 2's claims about the data hold in the run that just executed it."""
import pytest

from lessonrun import numbers

pytestmark = pytest.mark.after_notebooks

DATA = "02-image-data"


def test_the_lesson_split_is_balanced_and_the_test_split_whole():
    n = numbers(DATA)
    assert len(set(n["train_class_counts"])) == 1 and len(n["train_class_counts"]) == 10
    assert len(set(n["val_class_counts"])) == 1
    assert n["test_class_counts"] == [1000] * 10  # the official test split, all of it
    assert n["n_train"] == sum(n["train_class_counts"])


def test_pixels_are_bytes_and_rescaling_maps_them_into_0_1():
    n = numbers(DATA)
    assert (n["pixel_min"], n["pixel_max"]) == (0, 255)
    assert n["rescaled_min"] == 0.0 and n["rescaled_max"] == 1.0
    # rescaling twice (a common mistake the text warns about) squeezes everything near 0
    assert n["twice_max"] < 0.01
