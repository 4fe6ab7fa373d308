"""Read the data sets' files into arrays: the official CIFAR-10 archive and MNIST ``.npz``
(checked with SHA-256 before they get here), and local copies: CIFAR-10 as image folders,
MNIST as IDX files. Every split comes out ordered by class (see ``_by_class``).
"""
from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np

from .download import ENV_DATA_DIR, WAY_OUT, DataError

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
MNIST_CLASSES = tuple(str(d) for d in range(10))


def _by_class(x, y):
    """Order a split by class, keeping the official order within each class.

    Local image folders list their files class by class, so sorting the official
    arrays the same way makes every source give the same arrays in the same order.
    """
    order = np.argsort(y, kind="stable")
    return x[order], y[order]


# ---------------------------------------------------------------- official formats
def _read_cifar10_archive(path: Path):
    """Read the official ``cifar-10-python.tar.gz`` (already checksum-verified)."""
    def batch(tar, member):
        d = pickle.load(tar.extractfile(member), encoding="bytes")
        x = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        return x.transpose(0, 2, 3, 1), np.asarray(d[b"labels"], dtype=np.uint8)

    try:
        with tarfile.open(path, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            parts = [batch(tar, members[f"data_batch_{i}"]) for i in range(1, 6)]
            x_test, y_test = batch(tar, members["test_batch"])
    except (KeyError, tarfile.TarError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise DataError(
            f"The CIFAR-10 archive {path} passed its checksum but could not be read "
            f"({err!r}): delete it and run this again, or {WAY_OUT}.") from None
    x_train, y_train = _by_class(np.concatenate([p[0] for p in parts]),
                                 np.concatenate([p[1] for p in parts]))
    return (x_train, y_train) + _by_class(x_test, y_test)


def _read_mnist_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            return (z["x_train"].astype(np.uint8), z["y_train"].astype(np.uint8),
                    z["x_test"].astype(np.uint8), z["y_test"].astype(np.uint8))
    except Exception as err:
        raise DataError(
            f"The MNIST file {path} passed its checksum but could not be read "
            f"({err!r}): delete it and run this again, or {WAY_OUT}.") from None


# ------------------------------------------------------------------- local copies
def _listing_key(files) -> str:
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def _cifar10_files(root: Path):
    """All image files of a local CIFAR-10 copy, checked for missing classes."""
    if not root.is_dir():
        raise DataError(
            f"There is no CIFAR-10 folder at {root}: point {ENV_DATA_DIR} at the folder "
            f"that holds cifar10/train and cifar10/test, or unset it to download.")
    files = {}
    for split in ("train", "test"):
        missing, empty = [], []
        for c in CIFAR10_CLASSES:
            folder = root / split / c
            if not folder.is_dir():
                missing.append(c)
                continue
            found = sorted(p for p in folder.iterdir()
                           if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
            if not found:
                empty.append(c)
            files[(split, c)] = found
        if missing or empty:
            what = []
            if missing:
                what.append("no folder for " + ", ".join(missing))
            if empty:
                what.append("no images in " + ", ".join(empty))
            raise DataError(
                f"The local CIFAR-10 copy in {root} has {' and '.join(what)} in {split}/: "
                f"it needs {split}/<class>/*.jpg for all 10 classes; complete the copy, "
                f"or unset {ENV_DATA_DIR} to download the official archive.")
    return files


def read_image(path, shape=(32, 32, 3), way_out="replace or delete it"):
    """One image file as a uint8 array of ``shape`` (height, width, channels).

    A file that cannot be decoded or has another size raises :class:`DataError` in one
    sentence that names the file, says what is wrong and ends with ``way_out``. It is
    public so that learners can check a folder of their own images by the same rules the
    lesson's data loader applies to its copy of CIFAR-10.
    """
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im = im.convert("RGB" if shape[-1] == 3 else "L")
            a = np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(
            f"The image {path} cannot be read ({type(err).__name__}): {way_out}.") from None
    if a.ndim == 2:
        a = a[..., None]
    if a.shape != tuple(shape):
        raise DataError(
            f"The image {path} is {a.shape[1]}x{a.shape[0]} pixels, not "
            f"{shape[1]}x{shape[0]}: {way_out}.")
    return a


_LOCAL_COPY_WAY_OUT = (f"replace or delete it, or unset {ENV_DATA_DIR} to download the "
                       f"official archive")


def _read_cifar10_images(files):
    """The images of a local CIFAR-10 copy (``files`` from ``_cifar10_files``), as
    ``x_train, y_train, x_test, y_test``."""
    out = []
    for split in ("train", "test"):
        paths = [(f, i) for i, c in enumerate(CIFAR10_CLASSES) for f in files[(split, c)]]
        x = np.empty((len(paths), 32, 32, 3), np.uint8)
        for k, (f, _) in enumerate(paths):
            x[k] = read_image(f, (32, 32, 3), _LOCAL_COPY_WAY_OUT)
        out += [x, np.array([i for _, i in paths], np.uint8)]
    return tuple(out)


_IDX = {  # file name -> (magic number, dimensions after the count)
    "train-images-idx3-ubyte.gz": (2051, (28, 28)),
    "train-labels-idx1-ubyte.gz": (2049, ()),
    "t10k-images-idx3-ubyte.gz": (2051, (28, 28)),
    "t10k-labels-idx1-ubyte.gz": (2049, ()),
}


def _read_idx(path: Path):
    magic, dims = _IDX[path.name]
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
        head = 4 + 4 * (1 + len(dims))
        values = struct.unpack(">" + "I" * (1 + len(dims) + 1), raw[:head])
        if values[0] != magic or tuple(values[2:]) != dims:
            raise ValueError(f"header {values} is not MNIST's")
        n = values[1]
        data = np.frombuffer(raw, np.uint8, offset=head)
        if data.size != n * int(np.prod(dims, dtype=int)):
            raise ValueError(f"{data.size} bytes of data for {n} items")
    except (OSError, EOFError, ValueError, struct.error, gzip.BadGzipFile) as err:
        raise DataError(
            f"The MNIST file {path} is damaged or not in IDX format ({err}): copy it "
            f"again, or unset {ENV_DATA_DIR} to download MNIST.") from None
    return data.reshape((n,) + dims)


def _read_mnist_folder(root: Path):
    missing = [name for name in _IDX if not (root / name).is_file()]
    if missing:
        raise DataError(
            f"The local MNIST copy in {root} lacks {', '.join(missing)}: complete the copy, "
            f"or unset {ENV_DATA_DIR} to download MNIST.")
    a = {name: _read_idx(root / name) for name in _IDX}
    return (a["train-images-idx3-ubyte.gz"], a["train-labels-idx1-ubyte.gz"],
            a["t10k-images-idx3-ubyte.gz"], a["t10k-labels-idx1-ubyte.gz"])
