"""Get the lesson's data sets: CIFAR-10 and MNIST, from their official sources.

Where the data come from, in this order:

1. ``data_dir=`` argument, or the environment variable ``CNNLESSON_DATA_DIR``:
   a local copy laid out as ``<dir>/cifar10/{train,test}/<class>/*.jpg`` and
   ``<dir>/mnist/*-ubyte.gz`` (the IDX files). Nothing is downloaded.
2. the archive already downloaded into the cache folder (checked again with SHA-256);
3. a download from ``mirror=`` or ``CNNLESSON_MIRROR`` (a URL prefix that serves the
   same file names), else from the official site.

Downloads are written to a ``.part`` file, checked with SHA-256 *before* anything
in them is unpickled or parsed, and only then renamed into the cache folder
(``cache_dir=`` or ``CNNLESSON_CACHE_DIR``; default: the repository's ``data/``
folder, or ``~/.cache/cnnlesson`` outside a checkout). Decoded arrays are cached
beside them as ``.npz`` so that every notebook after the first loads in a second.

Every failure raises :class:`DataError` with one sentence that says what went
wrong and the way out.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import pickle
import socket
import struct
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES", "MNIST_CLASSES", "DataError", "Dataset", "LessonData",
    "load_cifar10", "load_mnist", "lesson_split", "load_lesson_data", "cache_dir",
    "CIFAR10", "MNIST",
]

ENV_DATA_DIR = "CNNLESSON_DATA_DIR"
ENV_MIRROR = "CNNLESSON_MIRROR"
ENV_CACHE_DIR = "CNNLESSON_CACHE_DIR"

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")
MNIST_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class Source:
    """One official archive: where it lives and what its SHA-256 must be."""
    name: str
    url: str
    filename: str
    sha256: str
    size: int  # bytes, for the progress line when the server sends no length


CIFAR10 = Source(
    name="CIFAR-10",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    filename="cifar-10-python.tar.gz",
    sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    size=170_498_071,
)
MNIST = Source(
    name="MNIST",
    url="https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    filename="mnist.npz",
    sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    size=11_490_434,
)

WAY_OUT = (f"set {ENV_DATA_DIR} to a local copy or {ENV_MIRROR} to a mirror "
           "(see data/README.md)")


class DataError(RuntimeError):
    """The data could not be loaded; the message says why and what to do."""


def _by_class(x, y):
    """Order a split by class, keeping the official order within each class.

    Local image folders list their files class by class, so sorting the official
    arrays the same way makes every source give the same arrays in the same order.
    """
    order = np.argsort(y, kind="stable")
    return x[order], y[order]


@dataclass
class Dataset:
    """A data set's official split: uint8 images (N, H, W, C) and integer labels (N,),
    ordered by class (the official order is kept within each class)."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple


@dataclass
class LessonData:
    """The lesson's split: training and validation sets carved out of the official
    training split, and the official test split, kept apart for the final evaluation."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple

    def __repr__(self):
        return (f"LessonData(train={self.x_train.shape}, val={self.x_val.shape}, "
                f"test={self.x_test.shape}, classes={len(self.class_names)})")


# --------------------------------------------------------------------------- cache
def cache_dir(path=None) -> Path:
    """The folder where downloads and decoded arrays are kept."""
    if path is None:
        path = os.environ.get(ENV_CACHE_DIR)
    if path is None:
        repo_data = Path(__file__).resolve().parent.parent / "data"
        path = repo_data if repo_data.is_dir() else Path.home() / ".cache" / "cnnlesson"
    path = Path(path).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _save_arrays(path: Path, **arrays):
    """Write an .npz atomically: a crash never leaves a half-written cache file."""
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)


def _load_arrays(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # a damaged cache file is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None


# ------------------------------------------------------------------------ download
def _progress(name, done, total, start, out):
    pct = 100 * done / total if total else 0
    rate = done / max(time.time() - start, 1e-6) / 1e6
    out.write(f"\rDownloading {name}: {done / 1e6:6.1f} of {total / 1e6:.1f} MB "
              f"({pct:3.0f}%, {rate:.1f} MB/s)")
    out.flush()


def download(source: Source, *, mirror=None, cache=None, progress=True,
             timeout=30) -> Path:
    """Return the path of ``source``'s archive in the cache, downloading it if needed.

    The file's SHA-256 is checked before it is used. A file that fails the check
    is deleted, so that nothing corrupt or half-written stays in the cache.
    """
    folder = cache_dir(cache)
    target = folder / source.filename
    if target.exists():
        if _sha256(target) == source.sha256:
            return target
        target.unlink()  # damaged copy in the cache: fetch it again
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR)
    url = mirror.rstrip("/") + "/" + source.filename if mirror else source.url
    part = target.with_name(target.name + ".part")
    out = sys.stdout
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as f:
            total = int(response.headers.get("Content-Length") or source.size)
            done, start, shown = 0, time.time(), 0.0
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                f.write(block)
                h.update(block)
                done += len(block)
                if progress and (time.time() - shown > 0.5 or done == total):
                    _progress(source.name, done, total, start, out)
                    shown = time.time()
            if progress:
                out.write("\n")
    except http.client.HTTPException as err:  # the connection broke off mid-file
        part.unlink(missing_ok=True)
        raise DataError(
            f"The download of {source.name} from {url} broke off before the end "
            f"({type(err).__name__}), so the partial file was deleted: run this again, "
            f"or {WAY_OUT}.") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
            OSError) as err:
        part.unlink(missing_ok=True)
        reason = getattr(err, "reason", err)
        raise DataError(
            f"Could not download {source.name} from {url} ({reason}): check your "
            f"internet connection, or {WAY_OUT}.") from None
    except BaseException:
        part.unlink(missing_ok=True)  # interrupted: leave nothing half-written
        raise
    digest = h.hexdigest()
    if digest != source.sha256:
        part.unlink(missing_ok=True)
        raise DataError(
            f"The download of {source.name} from {url} is corrupt or incomplete "
            f"(SHA-256 {digest[:12]}... instead of {source.sha256[:12]}...), so it was "
            f"deleted: run this again, or {WAY_OUT}.")
    os.replace(part, target)
    return target


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


def _read_image(path: Path, shape):
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im = im.convert("RGB" if shape[-1] == 3 else "L")
            a = np.asarray(im, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError) as err:
        raise DataError(
            f"The image {path} cannot be read ({type(err).__name__}): replace or delete "
            f"it, or unset {ENV_DATA_DIR} to download the official archive.") from None
    if a.ndim == 2:
        a = a[..., None]
    if a.shape != tuple(shape):
        raise DataError(
            f"The image {path} is {a.shape[1]}x{a.shape[0]} pixels, not "
            f"{shape[1]}x{shape[0]}: replace it, or unset {ENV_DATA_DIR} to download "
            f"the official archive.")
    return a


def _read_cifar10_folder(root: Path, cache: Path):
    files = _cifar10_files(root)
    flat = [f for key in sorted(files) for f in files[key]]
    npz = cache / f"cifar10-local-{_listing_key(flat)}.npz"
    if npz.exists():
        arrays = _load_arrays(npz)
        if arrays is not None:
            return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]
    out = []
    for split in ("train", "test"):
        paths = [(f, i) for i, c in enumerate(CIFAR10_CLASSES) for f in files[(split, c)]]
        x = np.empty((len(paths), 32, 32, 3), np.uint8)
        for k, (f, _) in enumerate(paths):
            x[k] = _read_image(f, (32, 32, 3))
        out += [x, np.array([i for _, i in paths], np.uint8)]
    _save_arrays(npz, x_train=out[0], y_train=out[1], x_test=out[2], y_test=out[3])
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


# ---------------------------------------------------------------------- public API
def _local_root(data_dir):
    data_dir = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR)
    return Path(data_dir).expanduser() if data_dir else None


def load_cifar10(*, data_dir=None, mirror=None, cache=None, progress=True) -> Dataset:
    """CIFAR-10's official split: 50,000 training and 10,000 test images, 32x32 RGB."""
    folder = cache_dir(cache)
    root = _local_root(data_dir)
    if root is not None:
        x_train, y_train, x_test, y_test = _read_cifar10_folder(root / "cifar10", folder)
    else:
        npz = folder / "cifar10-official.npz"
        arrays = _load_arrays(npz) if npz.exists() else None
        if arrays is None:
            archive = download(CIFAR10, mirror=mirror, cache=folder, progress=progress)
            x_train, y_train, x_test, y_test = _read_cifar10_archive(archive)
            _save_arrays(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
        else:
            x_train, y_train, x_test, y_test = (arrays[k] for k in
                                                ("x_train", "y_train", "x_test", "y_test"))
    return Dataset(x_train, y_train, x_test, y_test, CIFAR10_CLASSES)


def load_mnist(*, data_dir=None, mirror=None, cache=None, progress=True) -> Dataset:
    """MNIST's official split: 60,000 training and 10,000 test digits, 28x28 grey."""
    root = _local_root(data_dir)
    if root is not None:
        x_train, y_train, x_test, y_test = _read_mnist_folder(root / "mnist")
    else:
        archive = download(MNIST, mirror=mirror, cache=cache, progress=progress)
        x_train, y_train, x_test, y_test = _read_mnist_npz(archive)
    (x_train, y_train), (x_test, y_test) = _by_class(x_train, y_train), _by_class(x_test, y_test)
    return Dataset(x_train[..., None], y_train, x_test[..., None], y_test, MNIST_CLASSES)


def lesson_split(x, y, n_train, n_val, *, seed=0):
    """Carve a training and a validation set out of one split, deterministically.

    Both sets have the same number of images of every class (stratified), and no
    image is in both. Returns ``(x_train, y_train), (x_val, y_val)``.
    """
    classes = np.unique(y)
    k = len(classes)
    if n_train % k or n_val % k:
        raise ValueError(f"n_train and n_val must be multiples of the {k} classes")
    rng = np.random.default_rng(seed)
    train_idx, val_idx = [], []
    for c in classes:
        idx = rng.permutation(np.flatnonzero(y == c))
        need = n_train // k + n_val // k
        if len(idx) < need:
            raise ValueError(f"class {c} has {len(idx)} images, fewer than the {need} asked for")
        val_idx.append(idx[: n_val // k])
        train_idx.append(idx[n_val // k: need])
    train_idx = rng.permutation(np.concatenate(train_idx))
    val_idx = rng.permutation(np.concatenate(val_idx))
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


# The core lesson's sizes: chosen so that every fit stays under a minute on
# 2 CPU cores (see instructors/ for scaling up on a GPU).
LESSON_SIZES = {"cifar10": (5000, 2000), "mnist": (48000, 6000)}  # MNIST class 5 has only 5,421 training images


def load_lesson_data(dataset="cifar10", n_train=None, n_val=None, *, seed=0,
                     **source) -> LessonData:
    """The lesson's split of CIFAR-10 (default) or MNIST.

    ``n_train`` training and ``n_val`` validation images are drawn, balanced by
    class, from the official training split; the official test split is returned
    untouched, for the final evaluation only.
    """
    loaders = {"cifar10": load_cifar10, "mnist": load_mnist}
    if dataset not in loaders:
        raise ValueError(f"dataset must be one of {sorted(loaders)}, not {dataset!r}")
    d_train, d_val = LESSON_SIZES[dataset]
    full = loaders[dataset](**source)
    (x_tr, y_tr), (x_val, y_val) = lesson_split(
        full.x_train, full.y_train, n_train or d_train, n_val or d_val, seed=seed)
    return LessonData(x_tr, y_tr, x_val, y_val, full.x_test, full.y_test, full.class_names)
