"""Get the lesson's data sets: CIFAR-10 and MNIST, from their official sources.

Where the data come from, in this order:

1. ``data_dir=`` argument, or the environment variable ``CNNLESSON_DATA_DIR``:
   a local copy laid out as ``<dir>/cifar10/{train,test}/<class>/*.jpg`` and
   ``<dir>/mnist/*-ubyte.gz`` (the IDX files). Nothing is downloaded.
2. the archive already downloaded into the cache folder (checked again with SHA-256);
3. a download from ``mirror=`` or ``CNNLESSON_MIRROR`` (a URL prefix that serves the
   same file names, e.g. ``python -m cnnlesson.share serve`` on the instructor's
   laptop), else from the official site.

Downloads are written to a ``.part`` file, checked with SHA-256 *before* anything
in them is unpickled or parsed, and only then renamed into the cache folder
(``cache_dir=`` or ``CNNLESSON_CACHE_DIR``; default: the repository's ``data/``
folder, or ``~/.cache/cnnlesson`` outside a checkout). Decoded arrays are cached
beside them as ``.npz`` so that every notebook after the first loads in a second.

Classroom conditions (issue 12):

- **Several processes, one cache.** A download (and the decoding that follows) holds
  a lock file, ``<archive>.lock``, taken with :mod:`filelock` (an OS lock that the
  kernel releases when its process dies, so a crashed download never blocks the
  next). Other processes wait, and read the verified file when it is there. They
  wait as long as the ``.part`` file keeps growing; after ``CNNLESSON_LOCK_TIMEOUT``
  seconds (default 300) without progress they stop with one sentence.
- **Resume.** A download that breaks off keeps its ``.part`` file; the next attempt
  (at once, up to ``RETRIES`` times while bytes come through, then the next run)
  asks for the rest with an HTTP ``Range`` header and checks the SHA-256 of the whole
  file at the end. A server that ignores ``Range`` (answers 200) sends the whole file
  again, which replaces the part; a resumed file that fails the checksum is deleted
  and downloaded once more from the start.
- **Network timeout:** ``CNNLESSON_TIMEOUT`` seconds (default 30) without a byte.
- **Every failure is one sentence with the way out** (:class:`DataError`): a full
  disk (how much space is needed, and where), a cache folder that cannot be created
  or written (names ``CNNLESSON_CACHE_DIR``), a web page (proxy, captive portal)
  instead of the archive, a connection closed early. Nothing half-written is left,
  except a ``.part`` file kept on purpose to resume a broken-off download.
- **Progress** is :mod:`tqdm`'s bar (size, rate, time left).

Why not :mod:`pooch`: pooch 1.9.0 (checked) downloads into a randomly named temporary
file that it deletes on any failure and sends no ``Range`` header, so it cannot resume,
which is the point of issue 12 on a 50-100 kB/s link (a lost connection at 150 MB
would cost half an hour); nor does it lock the cache between processes. The HTTP
part is therefore ``urllib`` (about 100 lines here), with :mod:`filelock` for the
lock and :mod:`tqdm` for the progress bar.

Every failure raises :class:`DataError` with one sentence that says what went
wrong and the way out.
"""
from __future__ import annotations

import errno
import gzip
import hashlib
import http.client
import os
import pickle
import shutil
import socket
import struct
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "CIFAR10_CLASSES", "MNIST_CLASSES", "DataError", "Dataset", "LessonData",
    "load_cifar10", "load_mnist", "lesson_split", "load_lesson_data", "cache_dir",
    "download", "CIFAR10", "MNIST",
]

ENV_DATA_DIR = "CNNLESSON_DATA_DIR"
ENV_MIRROR = "CNNLESSON_MIRROR"
ENV_CACHE_DIR = "CNNLESSON_CACHE_DIR"
ENV_TIMEOUT = "CNNLESSON_TIMEOUT"            # seconds without a byte from the server
ENV_LOCK_TIMEOUT = "CNNLESSON_LOCK_TIMEOUT"  # seconds waiting for another process without progress
DEFAULT_TIMEOUT = 30
DEFAULT_LOCK_TIMEOUT = 300

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
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)
_FULL = (errno.ENOSPC, errno.EDQUOT)


def _mb(n) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{max(n, 1) / 1e3:.0f} kB"


def _free_bytes(folder: Path):
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _write_error(err: OSError, folder: Path, what: str, need: int) -> DataError:
    """One sentence for an OS error while writing into the cache folder."""
    if err.errno in _FULL:
        free = _free_bytes(folder)
        has = f", and {_mb(free)} are free" if free is not None else ""
        return DataError(
            f"The disk that holds {folder} is full: {what} needs about {_mb(need)} there{has}; "
            f"free some space, or set {ENV_CACHE_DIR} to a folder on a disk with room.")
    if err.errno in _READ_ONLY:
        return DataError(
            f"The cache folder {folder} cannot be written to ({os.strerror(err.errno)}): "
            f"set {ENV_CACHE_DIR} to a folder you can write to, or {ENV_DATA_DIR} to a "
            f"local copy of the data (see data/README.md).")
    return DataError(
        f"Could not write {what} into {folder} ({err.strerror or err}): set {ENV_CACHE_DIR} "
        f"to another folder, or {ENV_DATA_DIR} to a local copy (see data/README.md).")


def cache_dir(path=None) -> Path:
    """The folder where downloads and decoded arrays are kept (created if needed)."""
    if path is None:
        path = os.environ.get(ENV_CACHE_DIR)
    if path is None:
        repo_data = Path(__file__).resolve().parent.parent / "data"
        path = repo_data if repo_data.is_dir() else Path.home() / ".cache" / "cnnlesson"
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DataError(
            f"The cache folder {path} cannot be created ({err.strerror or err}): set "
            f"{ENV_CACHE_DIR} to a folder you can write to, or {ENV_DATA_DIR} to a local "
            f"copy of the data (see data/README.md).") from None
    return path


def _setting(name, default) -> float:
    """A number of seconds from the environment variable ``name``."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return float(default)
    try:
        value = float(raw)
        if value <= 0 or value != value:
            raise ValueError
    except ValueError:
        raise DataError(f"{name} must be a number of seconds above 0, not {raw!r}: "
                        f"fix it, or unset it to use {default}.") from None
    return value


def _open(path, mode="rb"):
    """``open``, in one place, so that tests can simulate a full or read-only disk."""
    return open(path, mode)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _verified(path: Path, source) -> bool:
    try:
        return path.is_file() and _sha256(path) == source.sha256
    except OSError:
        return False


def _save_arrays(path: Path, **arrays) -> bool:
    """Write an .npz atomically; a crash never leaves a half-written cache file.

    The temporary file has a name of its own (several processes may decode at
    once). The arrays are only a cache: when the folder is full or read-only, say so
    on stderr in one sentence, leave nothing behind, and go on without it.
    """
    need = sum(a.nbytes for a in arrays.values())
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".part", dir=path.parent)
        os.close(fd)
        with _open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
        return True
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        msg = str(_write_error(err, path.parent, "the decoded arrays", need))
        print(f"Note: the data are loaded, but not kept for next time. {msg}", file=sys.stderr)
        return False


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


@contextmanager
def _cache_lock(folder: Path, source, progress=True):
    """Hold ``<archive>.lock`` in ``folder`` while fetching and decoding ``source``.

    Waits for another process that holds it as long as that process's ``.part``
    file grows; gives up after ``CNNLESSON_LOCK_TIMEOUT`` seconds without progress.
    """
    from filelock import FileLock, Timeout

    path = folder / (source.filename + ".lock")
    patience = _setting(ENV_LOCK_TIMEOUT, DEFAULT_LOCK_TIMEOUT)
    try:  # filelock reads EACCES as "someone else holds it": find a read-only folder first
        with _open(path, "ab"):
            pass
    except OSError as err:
        raise _write_error(err, folder, f"{source.name} ({source.filename})",
                           source.size) from None
    lock = FileLock(path)
    part = folder / (source.filename + ".part")
    seen, since, told = None, time.monotonic(), False
    while True:
        try:
            lock.acquire(timeout=min(1.0, patience))
            break
        except Timeout:
            try:
                size = part.stat().st_size
            except OSError:
                size = None
            if size != seen:
                seen, since = size, time.monotonic()
            elif time.monotonic() - since >= patience:
                raise DataError(
                    f"Another process has been fetching {source.name} into {folder} for "
                    f"{patience:.0f} s without progress (it holds {path}): wait for it, stop "
                    f"it (another notebook or terminal), or set {ENV_LOCK_TIMEOUT} to wait "
                    f"longer.") from None
            if progress and not told:
                print(f"Another process is downloading {source.name} into {folder}: "
                      f"waiting for it to finish.", flush=True)
                told = True
        except OSError as err:
            raise _write_error(err, folder, f"{source.name} ({source.filename})",
                               source.size) from None
    try:
        yield
    finally:
        lock.release()


# ------------------------------------------------------------------------ download
class _Broken(Exception):
    """The connection broke off mid-file."""


class DownloadBrokeOff(DataError):
    """A download broke off; its ``.part`` file is kept, to be resumed."""

    def __init__(self, message, received):
        super().__init__(message)
        self.received = received  # bytes this attempt added to the .part file


RETRIES = 3  # a download that broke off after receiving bytes resumes by itself this often


def _looks_like_html(block: bytes) -> bool:
    head = block[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml"))


def _web_page_error(source, url) -> DataError:
    return DataError(
        f"The server at {url} sent a web page instead of the {source.name} archive, as a "
        f"proxy or a Wi-Fi login page does: open any web page in a browser to log in to the "
        f"network and run this again, or {WAY_OUT}.")


def _hash_file(path: Path, h):
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def _reason(err) -> str:
    reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or str(err)
    return str(reason) or type(err).__name__


def _is_timeout(err) -> bool:
    return isinstance(err, (socket.timeout, TimeoutError)) or isinstance(
        getattr(err, "reason", None), (socket.timeout, TimeoutError))


def _fetch(source: Source, folder: Path, url: str, progress: bool, timeout: float) -> Path:
    """Download ``url`` into ``folder`` (the caller holds the lock); resume a ``.part``."""
    from tqdm import tqdm

    target = folder / source.filename
    if _verified(target, source):  # another process finished it while we waited
        return target
    what = f"{source.name} ({source.filename})"
    try:
        target.unlink(missing_ok=True)  # a damaged copy in the cache: fetch it again
    except OSError as err:
        raise _write_error(err, folder, what, source.size) from None
    part = target.with_name(target.name + ".part")
    out = sys.stdout
    way_out = WAY_OUT
    for attempt in (1, 2):
        offset = part.stat().st_size if part.exists() else 0
        free = _free_bytes(folder)
        if free is not None and free < source.size - offset:  # say so before, not after
            raise _write_error(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), folder,
                               what, source.size - offset)
        request = urllib.request.Request(url, headers={"User-Agent": "cnnlesson"})
        if offset:
            request.add_header("Range", f"bytes={offset}-")
        h = hashlib.sha256()
        done, total, base = 0, source.size, 0
        try:
            try:
                response = urllib.request.urlopen(request, timeout=timeout)
            except urllib.error.HTTPError as err:
                if not (err.code == 416 and offset):
                    raise
                response = None  # "nothing after byte N": the part may be whole already
                done = offset
                _hash_file(part, h)
            if response is not None:
                with response:
                    ctype = response.headers.get("Content-Type", "")
                    try:
                        first = response.read(1 << 16)
                    except (http.client.HTTPException, OSError) as err:
                        raise _Broken(err) from None
                    if ctype.startswith("text/html") or _looks_like_html(first):
                        raise _web_page_error(source, url)
                    length = int(response.headers.get("Content-Length") or 0)
                    resumed = False
                    if response.status == 206 and offset:
                        if not response.headers.get("Content-Range", "").startswith(
                                f"bytes {offset}-"):
                            part.unlink(missing_ok=True)  # not the bytes we asked for
                            continue
                        resumed = True
                        _hash_file(part, h)
                        done = offset
                    total = (done + length) if length else source.size
                    base = done
                    if resumed and progress:
                        out.write(f"Resuming the download of {source.name} at "
                                  f"{_mb(offset)}.\n")
                    try:
                        f = _open(part, "ab" if resumed else "wb")
                    except OSError as err:
                        raise _write_error(err, folder, what, total) from None
                    failed = None
                    bar = tqdm(total=total, initial=done, unit="B", unit_scale=True,
                               unit_divisor=1000, desc=f"Downloading {source.name}",
                               file=out, disable=not progress, mininterval=0.5)
                    try:
                        with bar, f:
                            block = first
                            while block:
                                try:
                                    f.write(block)
                                except OSError as err:
                                    failed = err
                                    break
                                h.update(block)
                                done += len(block)
                                bar.update(len(block))
                                try:
                                    block = response.read(1 << 20)
                                except (http.client.HTTPException, OSError) as err:
                                    raise _Broken(err) from None
                    except OSError as err:  # flushing the last bytes at close
                        failed = failed or err
                    if failed is not None:
                        part.unlink(missing_ok=True)  # it holds the space that is missing
                        raise _write_error(failed, folder, what, total) from None
                    if length and done < total:
                        raise _Broken("the connection closed early")
        except _Broken as err:
            cause = err.args[0]
            cause = ("it stalled for longer than " + f"{timeout:g} s ({ENV_TIMEOUT})"
                     if _is_timeout(cause) else
                     type(cause).__name__ if isinstance(cause, Exception) else cause)
            raise DownloadBrokeOff(
                f"The download of {source.name} from {url} broke off after {_mb(done)} of "
                f"{_mb(total)} ({cause}); the part is kept in {folder}: run this again to "
                f"continue where it stopped, or {way_out}.", done - base) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                http.client.HTTPException, OSError) as err:
            extra = (f", raise {ENV_TIMEOUT} (now {timeout:g} s) on a slow network"
                     if _is_timeout(err) else "")
            raise DataError(
                f"Could not download {source.name} from {url} ({_reason(err)}): check your "
                f"internet connection{extra}, or {way_out}.") from None
        digest = h.hexdigest()
        if digest == source.sha256:
            os.replace(part, target)
            return target
        part.unlink(missing_ok=True)
        if offset and attempt == 1:  # a stale or foreign .part: start again, once
            if progress:
                out.write(f"The resumed download of {source.name} failed its checksum: "
                          f"downloading it again from the start.\n")
            continue
        raise DataError(
            f"The download of {source.name} from {url} is corrupt or incomplete "
            f"(SHA-256 {digest[:12]}... instead of {source.sha256[:12]}...), so it was "
            f"deleted: run this again, or {way_out}.")
    raise DataError(  # only after a resumed part was rejected twice
        f"The download of {source.name} from {url} could not be completed: run this "
        f"again, or {way_out}.")


def _fetch_resuming(source, folder, url, progress, timeout) -> Path:
    """:func:`_fetch`, resumed up to ``RETRIES`` times when the connection breaks off
    after bytes came through (a dead network fails at once, without retries)."""
    for attempt in range(1, RETRIES + 2):
        try:
            return _fetch(source, folder, url, progress, timeout)
        except DownloadBrokeOff as err:
            if attempt > RETRIES or not err.received:
                raise
            if progress:
                print(f"The connection broke off; resuming ({attempt} of {RETRIES}).",
                      flush=True)
    raise AssertionError("unreachable")


def _url(source: Source, mirror) -> str:
    mirror = mirror if mirror is not None else os.environ.get(ENV_MIRROR)
    return mirror.rstrip("/") + "/" + source.filename if mirror else source.url


def download(source: Source, *, mirror=None, cache=None, progress=True,
             timeout=None) -> Path:
    """Return the path of ``source``'s archive in the cache, downloading it if needed.

    The file's SHA-256 is checked before it is used. A file that fails the check
    is deleted, so that nothing corrupt stays in the cache. Processes that ask for
    the same file at once download it once (see the module's docstring).
    """
    folder = cache_dir(cache)
    target = folder / source.filename
    if _verified(target, source):
        return target
    timeout = timeout if timeout is not None else _setting(ENV_TIMEOUT, DEFAULT_TIMEOUT)
    with _cache_lock(folder, source, progress):
        return _fetch_resuming(source, folder, _url(source, mirror), progress, timeout)


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


def _local_cifar10_npz(root: Path, cache: Path):
    """The local copy's image files, and the cache file named after their listing."""
    files = _cifar10_files(root)
    flat = [f for key in sorted(files) for f in files[key]]
    return files, cache / f"cifar10-local-{_listing_key(flat)}.npz"


def _read_cifar10_folder(root: Path, cache: Path):
    files, npz = _local_cifar10_npz(root, cache)
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


OFFICIAL_CIFAR10_NPZ = "cifar10-official.npz"  # the decoded official archive, in the cache folder


def load_cifar10(*, data_dir=None, mirror=None, cache=None, progress=True) -> Dataset:
    """CIFAR-10's official split: 50,000 training and 10,000 test images, 32x32 RGB."""
    folder = cache_dir(cache)
    root = _local_root(data_dir)
    if root is not None:
        arrays = _read_cifar10_folder(root / "cifar10", folder)
    else:
        npz = folder / OFFICIAL_CIFAR10_NPZ
        arrays = _cached_official(npz)
        if arrays is None and _verified(folder / CIFAR10.filename, CIFAR10):
            arrays = _decode_cifar10(folder / CIFAR10.filename, npz)  # needs no lock
        if arrays is None:
            timeout = _setting(ENV_TIMEOUT, DEFAULT_TIMEOUT)
            with _cache_lock(folder, CIFAR10, progress):
                arrays = _cached_official(npz)  # another process may have made it
                if arrays is None:
                    archive = _fetch_resuming(CIFAR10, folder, _url(CIFAR10, mirror),
                                              progress, timeout)
                    arrays = _decode_cifar10(archive, npz)
    x_train, y_train, x_test, y_test = arrays
    return Dataset(x_train, y_train, x_test, y_test, CIFAR10_CLASSES)


def _cached_official(npz: Path):
    arrays = _load_arrays(npz) if npz.exists() else None
    if arrays is None:
        return None
    return tuple(arrays[k] for k in ("x_train", "y_train", "x_test", "y_test"))


def _decode_cifar10(archive: Path, npz: Path):
    x_train, y_train, x_test, y_test = _read_cifar10_archive(archive)
    _save_arrays(npz, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    return x_train, y_train, x_test, y_test


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


class _Unreadable(Exception):
    """A cache file that cannot be read as it should: it is rebuilt."""


def _npz_rows(npz: Path, name: str, rows=None, chunk=2048, out=None):
    """The rows ``rows`` (all when None) of the array ``name`` in an .npz file, in that
    order, read ``chunk`` rows at a time (into ``out``, an array of the right shape, if
    given: ``load_lesson_data(on_disk=True)`` passes a memory map of a file).

    Why not ``np.load``: it reads a whole member into memory (``mmap_mode`` is ignored
    for .npz files, and a memory map counts every page it touches as resident). The
    lesson keeps 5,000 of CIFAR-10's 50,000 training images; holding all of them for a
    moment, 154 MB, raised every notebook's peak memory (issue 10, Binder's 1 GB).
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


def _cifar10_npz(data_dir=None, mirror=None, cache=None, progress=True):
    """The cache file that ``load_cifar10`` would read its arrays from, when there is one."""
    root = _local_root(data_dir)
    if root is not None:
        _, npz = _local_cifar10_npz(root / "cifar10", cache_dir(cache))
    else:
        npz = cache_dir(cache) / OFFICIAL_CIFAR10_NPZ
    return npz if npz.is_file() else None


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


def _train_file(npz: Path, rows, seed):
    """The training images ``rows`` of the cache file, as a read-only memory map of a
    .npy file of their own beside it (written once, then reused).

    For the largest training sets (episode 7's 45,000 images, 138 MB): their pages are
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
