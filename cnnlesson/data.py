"""Get the lesson's data sets: CIFAR-10 and MNIST, from their official sources.

Where the data come from, in this order:

1. ``data_dir=`` argument, or the environment variable ``CNNLESSON_DATA_DIR``:
   a local copy laid out as ``<dir>/cifar10/{train,test}/<class>/*.jpg`` and
   ``<dir>/mnist/*-ubyte.gz`` (the IDX files). Nothing is downloaded.
2. the archive already downloaded into the cache folder (checked again with SHA-256);
3. a download from ``mirror=`` or ``CNNLESSON_MIRROR`` (a URL prefix that serves the
   same file names, e.g. ``python -m cnnlesson.share serve`` on the instructor's
   laptop), else from the official site.

Downloads (:mod:`cnnlesson.download`: checksums, lock, resume) are kept in the cache folder
(``cache_dir=`` or ``CNNLESSON_CACHE_DIR``; default: the repository's ``data/`` folder, or
``~/.cache/cnnlesson`` outside a checkout), and the arrays decoded from them (read by
:mod:`cnnlesson.formats`) beside them as ``.npz``, so that every notebook after the first
loads in a second. The names of those modules that were here stay importable from here.

Every failure raises :class:`DataError` with one sentence that says what went
wrong and the way out.
"""
from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .download import (DEFAULT_LOCK_TIMEOUT, DEFAULT_TIMEOUT, ENV_CACHE_DIR,  # noqa: F401
                       ENV_DATA_DIR, ENV_LOCK_TIMEOUT, ENV_MIRROR, ENV_TIMEOUT, RETRIES,
                       WAY_OUT, DataError, DownloadBrokeOff, Source, _cache_lock, _fetch,
                       _save_arrays, _setting, _url, _verified, _write_error, cache_dir,
                       download)
from .formats import (CIFAR10_CLASSES, MNIST_CLASSES, _by_class, _cifar10_files, _listing_key,
                      _read_cifar10_archive, _read_cifar10_images, _read_mnist_folder,
                      _read_mnist_npz)

__all__ = [
    "CIFAR10_CLASSES", "MNIST_CLASSES", "DataError", "Dataset", "LessonData",
    "load_cifar10", "load_mnist", "lesson_split", "load_lesson_data", "cache_dir",
    "download", "CIFAR10", "MNIST",
]

# The official archives; looked up here when called, so that tests can swap them
CIFAR10 = Source("CIFAR-10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                 "cifar-10-python.tar.gz", size=170_498_071,
                 sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
MNIST = Source("MNIST", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
               "mnist.npz", size=11_490_434,
               sha256="731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1")


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


def _local_root(data_dir):
    data_dir = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR)
    return Path(data_dir).expanduser() if data_dir else None


OFFICIAL_CIFAR10_NPZ = "cifar10-official.npz"  # the decoded official archive, in the cache folder
_SPLITS = ("x_train", "y_train", "x_test", "y_test")


def _load_arrays(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # a damaged cache file is rebuilt, never trusted
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass
        return None


def _cached(npz: Path):
    """The arrays kept in the cache file ``npz``; None when there is none (or it was damaged)."""
    arrays = _load_arrays(npz) if npz.exists() else None
    return None if arrays is None else tuple(arrays[k] for k in _SPLITS)


def _kept(npz: Path, arrays):
    """``arrays`` (x_train, y_train, x_test, y_test), kept in the cache file ``npz``."""
    _save_arrays(npz, **dict(zip(_SPLITS, arrays)))
    return arrays


def _cifar10_cache_file(root, folder: Path):
    """The cache file of CIFAR-10's arrays in ``folder``, and the image files of the local
    copy in ``root`` that it is named after (None: the official archive's)."""
    if root is None:
        return None, folder / OFFICIAL_CIFAR10_NPZ
    files = _cifar10_files(root / "cifar10")
    flat = [f for key in sorted(files) for f in files[key]]
    return files, folder / f"cifar10-local-{_listing_key(flat)}.npz"


def load_cifar10(*, data_dir=None, mirror=None, cache=None, progress=True) -> Dataset:
    """CIFAR-10's official split: 50,000 training and 10,000 test images, 32x32 RGB."""
    folder = cache_dir(cache)
    files, npz = _cifar10_cache_file(_local_root(data_dir), folder)
    arrays = _cached(npz)
    if arrays is None and files is not None:  # a local copy: nothing is downloaded
        arrays = _kept(npz, _read_cifar10_images(files))
    if arrays is None and _verified(folder / CIFAR10.filename, CIFAR10):
        arrays = _kept(npz, _read_cifar10_archive(folder / CIFAR10.filename))  # needs no lock
    if arrays is None:
        timeout = _setting(ENV_TIMEOUT, DEFAULT_TIMEOUT)
        with _cache_lock(folder, CIFAR10, progress):
            arrays = _cached(npz)  # another process may have made it
            if arrays is None:
                archive = _fetch(CIFAR10, folder, _url(CIFAR10, mirror), progress, timeout)
                arrays = _kept(npz, _read_cifar10_archive(archive))
    x_train, y_train, x_test, y_test = arrays
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


def _split_indices(y, n_train, n_val, seed):
    """Row numbers of the training and validation sets that ``lesson_split`` takes."""
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
    return rng.permutation(np.concatenate(train_idx)), rng.permutation(np.concatenate(val_idx))


def lesson_split(x, y, n_train, n_val, *, seed=0):
    """Carve a training and a validation set out of one split, deterministically.

    Both sets have the same number of images of every class (stratified), and no
    image is in both. Returns ``(x_train, y_train), (x_val, y_val)``.
    """
    train_idx, val_idx = _split_indices(y, n_train, n_val, seed)
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


def _cifar10_npz(data_dir=None, mirror=None, cache=None, progress=True):
    """The cache file that ``load_cifar10`` would read its arrays from, when there is one."""
    _, npz = _cifar10_cache_file(_local_root(data_dir), cache_dir(cache))
    return npz if npz.is_file() else None


class _Unreadable(Exception):
    """A cache file that cannot be read as it should: it is rebuilt."""


def _npz_rows(npz: Path, name: str, rows=None, chunk=2048, out=None):
    """The rows ``rows`` (all when None) of the array ``name`` in an .npz file, in that
    order, read ``chunk`` rows at a time (into ``out``, an array of the right shape, if
    given: ``load_lesson_data(on_disk=True)`` passes a memory map of a file).

    Why not ``np.load``: it reads a whole member into memory (``mmap_mode`` is ignored
    for .npz files, and a memory map counts every page it touches as resident). The
    lesson keeps 5,000 of CIFAR-10's 50,000 training images; holding all of them for a
    moment, 154 MB, raised every notebook's peak memory (Binder's limit is 1 GB).
    """
    try:
        with zipfile.ZipFile(npz) as zf, zf.open(name + ".npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
            if fortran or dtype.hasobject or not shape:
                raise _Unreadable(f"{name} is not a C-ordered array of numbers")
            n, item = shape[0], shape[1:]
            row_bytes = int(np.prod(item, dtype=np.int64)) * dtype.itemsize
            rows = np.arange(n) if rows is None else np.asarray(rows)
            if rows.size and (rows.min() < 0 or rows.max() >= n):
                raise IndexError(f"rows outside 0..{n - 1}")
            if out is None:
                out = np.empty((len(rows),) + tuple(item), dtype)
            elif out.shape != (len(rows),) + tuple(item) or out.dtype != dtype:
                raise ValueError(f"out has shape {out.shape}, {out.dtype}: not the rows'")
            for start in range(0, n, chunk):
                count = min(chunk, n - start)
                raw = f.read(count * row_bytes)
                if len(raw) != count * row_bytes:
                    raise _Unreadable(f"{name} ends early")
                pick = np.flatnonzero((rows >= start) & (rows < start + count))
                if pick.size:
                    block = np.frombuffer(raw, dtype).reshape((count,) + tuple(item))
                    out[pick] = block[rows[pick] - start]
            return out
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise _Unreadable(f"{npz}: {err}") from None


def _train_file(npz: Path, rows, seed):
    """The training images ``rows`` of the cache file, as a read-only memory map of a
    .npy file of their own beside it (written once, then reused).

    For the largest training sets (episode 8's 45,000 images, 138 MB): their pages are
    then pages of a file, which the system drops and reads again when memory runs short,
    instead of memory the kernel holds until it ends. Under Binder's hard limit that is
    the difference between a notebook that runs and one that crawls. The file's name
    says which rows it holds and of which cache file, so a rebuilt cache file or another
    split never reads a stale one; older files of that cache file are removed."""
    stat = npz.stat()
    key = hashlib.sha256(f"{stat.st_size}:{stat.st_mtime_ns}:{seed}:".encode()
                         + np.asarray(rows, np.int64).tobytes()).hexdigest()[:16]
    path = npz.with_name(f"{npz.stem}-train-{len(rows)}-{key}.npy")
    if not path.is_file():
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        try:
            out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                            shape=(len(rows), 32, 32, 3))
            _npz_rows(npz, "x_train", rows, out=out)
            out.flush()
            del out
            os.replace(tmp, path)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise _write_error(err, npz.parent, "a file of the training images",
                               len(rows) * 3072) from None
        finally:
            tmp.unlink(missing_ok=True)
        for old in npz.parent.glob(f"{npz.stem}-train-*.npy"):
            if old != path:
                try:
                    old.unlink(missing_ok=True)
                except OSError:  # Windows: another kernel still has it open; next time
                    pass
    return np.load(path, mmap_mode="r")


def _lesson_data_from_npz(npz: Path, n_train, n_val, seed, on_disk=False):
    """``load_lesson_data`` for CIFAR-10 from its cache file, reading only the chosen
    images (see ``_npz_rows``); None when the file is damaged (it is then deleted, and
    the caller rebuilds it)."""
    try:
        y_train = _npz_rows(npz, "y_train")
        train_idx, val_idx = _split_indices(y_train, n_train, n_val, seed)
        if on_disk:
            x_tr = _train_file(npz, train_idx, seed)
            x_val = _npz_rows(npz, "x_train", val_idx)
        else:
            x_tr, x_val = np.split(_npz_rows(npz, "x_train",
                                             np.concatenate([train_idx, val_idx])),
                                   [len(train_idx)])
        x_test, y_test = _npz_rows(npz, "x_test"), _npz_rows(npz, "y_test")
    except _Unreadable:
        npz.unlink(missing_ok=True)
        return None
    return LessonData(x_tr, y_train[train_idx], x_val, y_train[val_idx], x_test, y_test,
                      CIFAR10_CLASSES)


# The core lesson's sizes: chosen so that every fit stays under a minute on
# 2 CPU cores (see instructors/ for scaling up on a GPU).
LESSON_SIZES = {"cifar10": (5000, 2000), "mnist": (48000, 6000)}  # MNIST class 5 has only 5,421 training images


def load_lesson_data(dataset="cifar10", n_train=None, n_val=None, *, seed=0,
                     on_disk=False, **source) -> LessonData:
    """The lesson's split of CIFAR-10 (default) or MNIST.

    ``n_train`` training and ``n_val`` validation images are drawn, balanced by
    class, from the official training split. The official test split is returned
    whole (all its images, none of them in training or validation) but sorted by
    class, like every split this module loads (see ``_by_class``): not in the
    official file's order. It is for the final evaluation only.

    ``on_disk=True`` (CIFAR-10): the training images stay in a file beside the cache
    file, and ``x_train`` is a read-only ``np.memmap`` of it, read as needed (see
    ``_train_file``): an array like any other, that costs a kernel almost no memory of
    its own. For large training sets on a machine with little memory (Binder).
    """
    loaders = {"cifar10": load_cifar10, "mnist": load_mnist}
    if dataset not in loaders:
        raise ValueError(f"dataset must be one of {sorted(loaders)}, not {dataset!r}")
    d_train, d_val = LESSON_SIZES[dataset]
    n_train, n_val = n_train or d_train, n_val or d_val
    if dataset == "cifar10":  # from the cache file when there is one: less memory
        npz = _cifar10_npz(**source)
        data = _lesson_data_from_npz(npz, n_train, n_val, seed, on_disk) if npz else None
        if data is not None:
            return data
        if on_disk:  # no cache file yet, or a damaged one: loading makes it
            load_cifar10(**source)
            npz = _cifar10_npz(**source)
            data = _lesson_data_from_npz(npz, n_train, n_val, seed, on_disk) if npz else None
            if data is not None:
                return data
    if on_disk:
        why = ("CIFAR-10's cache file could not be made" if dataset == "cifar10"
               else f"it is for CIFAR-10 only, not {dataset}")
        raise ValueError(f"on_disk=True cannot be used: {why}; load without on_disk")
    full = loaders[dataset](**source)
    (x_tr, y_tr), (x_val, y_val) = lesson_split(full.x_train, full.y_train, n_train, n_val, seed=seed)
    return LessonData(x_tr, y_tr, x_val, y_val, full.x_test, full.y_test, full.class_names)
