"""Plumbing for the CNN image-classification lesson.

The episodes teach Keras in the open; this package only holds what is not the
point of the lesson: getting the data (:mod:`cnnlesson.data`), reporting the
set-up, and plotting helpers once the episode that teaches them has been done.
"""
import os

# TensorFlow's own pooling allocator (BFC) for CPU memory, instead of one malloc per
# tensor, so that each notebook fits in Binder's memory. Measured on 2 CPU cores: five small fits in a row
# peaked at 1,053 MB resident with malloc and 973 MB with BFC, one fit on 45,000 images at
# 1,330 and 1,195 MB, at the same speed. With this and load_lesson_data's chunked reading,
# episode 5's peak in `python -m tools.lab.benchmark` went from 1,087 to 974 MB. TensorFlow reads
# this setting when it first allocates a tensor, so it works when `import keras` came first,
# as in the episodes. A value you set yourself (TF_CPU_ALLOCATOR_USE_BFC=false) is kept.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from .data import (CIFAR10_CLASSES, MNIST_CLASSES, DataError, load_cifar10,  # noqa: F401
                   load_lesson_data, load_mnist, lesson_split)
from .formats import read_image  # noqa: F401
from .hardware import cpu_features, mixed_precision_policy  # noqa: F401
from .predict import prepare_image  # noqa: F401
from .tables import lesson_table  # noqa: F401
from .report import quoted_numbers, setup_report  # noqa: F401


def array_batches(x, y, batch_size=32, *, shuffle=True, seed=0, **kwargs):
    """``x`` and ``y`` for ``model.fit``, one batch at a time (a ``keras.utils.PyDataset``):
    ``fit`` then never copies the whole arrays into TensorFlow. See :mod:`cnnlesson.feed`
    for why and what it saves; imported here on first use, so that ``import cnnlesson``
    does not import Keras."""
    from .feed import ArrayBatches
    return ArrayBatches(x, y, batch_size, shuffle=shuffle, seed=seed, **kwargs)


__version__ = "0.1.0"
