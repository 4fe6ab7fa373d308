"""Plumbing for the CNN image-classification lesson.

The episodes teach Keras in the open; this package only holds what is not the
point of the lesson: getting the data (:mod:`cnnlesson.data`), reporting the
set-up, and plotting helpers once the episode that teaches them has been done.
"""
import os

# TensorFlow's own pooling allocator (BFC) for CPU memory, instead of one malloc per
# tensor. Measured (issue 10; `python -m tools.benchmark`): with malloc, a kernel's resident
# memory grows by about 25 MB with every model it trains, and a fit on 45,000 images
# peaks 135 MB higher; training speed is the same. TensorFlow reads this setting when it
# first allocates a tensor, so it works when `import keras` came first, as in the
# episodes. A value you set yourself (TF_CPU_ALLOCATOR_USE_BFC=false) is kept.
os.environ.setdefault("TF_CPU_ALLOCATOR_USE_BFC", "true")

from .data import (CIFAR10_CLASSES, MNIST_CLASSES, DataError, load_cifar10,  # noqa: F401
                   load_lesson_data, load_mnist, lesson_split)
from .hardware import cpu_features, mixed_precision_policy  # noqa: F401
from .predict import prepare_image  # noqa: F401
from .tables import lesson_table  # noqa: F401
from .report import quoted_numbers, setup_report  # noqa: F401

__version__ = "0.1.0"
