"""Download an archive from its official site or a mirror into the cache folder; every
write into that folder is here (``_open``): a full or read-only disk is one sentence.

Downloads are written to a ``.part`` file, checked with SHA-256 *before* anything in them
is unpickled or parsed, and only then renamed into the cache folder. Classroom conditions:

- **Several processes, one cache.** A download (and the decoding that follows) holds a
  lock file, ``<archive>.lock``, taken with :mod:`filelock` (an OS lock that the kernel
  releases when its process dies, so a crashed download never blocks the next). Other
  processes wait, and read the verified file when it is there. They wait as long as the
  ``.part`` file keeps growing; after ``CNNLESSON_LOCK_TIMEOUT`` seconds (default 300)
  without progress they stop with one sentence.
- **Resume.** A download that breaks off keeps its ``.part`` file; the next attempt (at
  once, up to ``RETRIES`` times while bytes come through, then the next run) asks for the
  rest with an HTTP ``Range`` header and checks the SHA-256 of the whole file at the end.
  A server that ignores ``Range`` (answers 200) sends the whole file again, which replaces
  the part; a resumed file that fails the checksum is deleted and downloaded once more
  from the start.
- **Network timeout:** ``CNNLESSON_TIMEOUT`` seconds (default 30) without a byte.
- **Every failure is one sentence with the way out** (:class:`DataError`): a full disk
  (how much space is needed, and where), a cache folder that cannot be created or written
  (names ``CNNLESSON_CACHE_DIR``), a web page (proxy, captive portal) instead of the
  archive, a connection closed early. Nothing half-written is left, except a ``.part``
  file kept on purpose to resume a broken-off download.
- **Progress** is :mod:`tqdm`'s bar (size, rate, time left).

Why not :mod:`pooch`: pooch 1.9.0 (checked) downloads into a randomly named temporary file
that it deletes on any failure and sends no ``Range`` header, so it cannot resume, which a
classroom on a 50-100 kB/s link needs (a lost connection at 150 MB would cost half an
hour); nor does it lock the cache between processes. The HTTP part is therefore ``urllib``
(about 100 lines here), with :mod:`filelock` for the lock and :mod:`tqdm` for the progress
bar.
"""
from __future__ import annotations

import errno
import hashlib
import http.client
import os
import shutil
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_DATA_DIR = "CNNLESSON_DATA_DIR"
ENV_MIRROR = "CNNLESSON_MIRROR"
ENV_CACHE_DIR = "CNNLESSON_CACHE_DIR"
ENV_TIMEOUT = "CNNLESSON_TIMEOUT"            # seconds without a byte from the server
ENV_LOCK_TIMEOUT = "CNNLESSON_LOCK_TIMEOUT"  # seconds waiting for another process without progress
DEFAULT_TIMEOUT = 30
DEFAULT_LOCK_TIMEOUT = 300
RETRIES = 3  # a download that broke off after receiving bytes resumes by itself this often

WAY_OUT = (f"set {ENV_DATA_DIR} to a local copy or {ENV_MIRROR} to a mirror "
           "(see data/README.md)")


class DataError(RuntimeError):
    """The data could not be loaded; the message says why and what to do."""


# --------------------------------------------------------------------- cache folder
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


def _open(path, mode="rb"):
    """``open``, in one place, so that tests can simulate a full or read-only disk."""
    return open(path, mode)


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


# ------------------------------------------------------------------------ download
@dataclass(frozen=True)
class Source:
    """One official archive: where it lives and what its SHA-256 must be."""
    name: str
    url: str
    filename: str
    sha256: str
    size: int  # bytes, for the progress line when the server sends no length


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


def _hash_file(path: Path, h):
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    _hash_file(path, h)
    return h.hexdigest()


def _verified(path: Path, source) -> bool:
    try:
        return path.is_file() and _sha256(path) == source.sha256
    except OSError:
        return False


@contextmanager
def _cache_lock(folder: Path, source, progress=True):
    """Hold ``<archive>.lock`` in ``folder`` while fetching and decoding ``source``.

    Waits for another process that holds it as long as that process's ``.part``
    file grows; gives up after ``CNNLESSON_LOCK_TIMEOUT`` seconds without progress.
    """
    from filelock import FileLock, Timeout

    path = folder / (source.filename + ".lock")
    patience = _setting(ENV_LOCK_TIMEOUT, DEFAULT_LOCK_TIMEOUT)
    what = f"{source.name} ({source.filename})"
    try:  # filelock reads EACCES as "someone else holds it": find a read-only folder first
        with _open(path, "ab"):
            pass
    except OSError as err:
        raise _write_error(err, folder, what, source.size) from None
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
            raise _write_error(err, folder, what, source.size) from None
    try:
        yield
    finally:
        lock.release()


class _Broken(Exception):
    """The connection broke off mid-file."""


class DownloadBrokeOff(DataError):
    """A download broke off; its ``.part`` file is kept, for the next run to resume."""


def _looks_like_html(block: bytes) -> bool:
    head = block[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml"))


def _web_page_error(source, url) -> DataError:
    return DataError(
        f"The server at {url} sent a web page instead of the {source.name} archive, as a "
        f"proxy or a Wi-Fi login page does: open any web page in a browser to log in to the "
        f"network and run this again, or {WAY_OUT}.")


def _reason(err) -> str:
    reason = getattr(err, "reason", None) or getattr(err, "strerror", None) or str(err)
    return str(reason) or type(err).__name__


def _is_timeout(err) -> bool:
    return isinstance(err, (socket.timeout, TimeoutError)) or isinstance(
        getattr(err, "reason", None), (socket.timeout, TimeoutError))


def _fetch(source: Source, folder: Path, url: str, progress: bool, timeout: float) -> Path:
    """Download ``url`` into ``folder`` (the caller holds the lock): one loop of requests
    for what the ``.part`` file lacks, again at once when the connection broke off after
    bytes came through (up to ``RETRIES`` times; a dead network fails at once), and once
    from the start when a resumed file fails its checksum or the server sends other bytes."""
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
    resumes, restarted = 0, False
    while True:
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
                            restarted = True
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
            if done > base and resumes < RETRIES:  # bytes came through: ask for the rest
                resumes += 1
                if progress:
                    out.write(f"The connection broke off; resuming ({resumes} of {RETRIES}).\n")
                continue
            cause = err.args[0]
            cause = ("it stalled for longer than " + f"{timeout:g} s ({ENV_TIMEOUT})"
                     if _is_timeout(cause) else
                     type(cause).__name__ if isinstance(cause, Exception) else cause)
            raise DownloadBrokeOff(
                f"The download of {source.name} from {url} broke off after {_mb(done)} of "
                f"{_mb(total)} ({cause}); the part is kept in {folder}: run this again to "
                f"continue where it stopped, or {WAY_OUT}.") from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError,
                http.client.HTTPException, OSError) as err:
            extra = (f", raise {ENV_TIMEOUT} (now {timeout:g} s) on a slow network"
                     if _is_timeout(err) else "")
            raise DataError(
                f"Could not download {source.name} from {url} ({_reason(err)}): check your "
                f"internet connection{extra}, or {WAY_OUT}.") from None
        digest = h.hexdigest()
        if digest == source.sha256:
            os.replace(part, target)
            return target
        part.unlink(missing_ok=True)
        if offset and not restarted:  # a stale or foreign .part: start again, once
            restarted = True
            if progress:
                out.write(f"The resumed download of {source.name} failed its checksum: "
                          f"downloading it again from the start.\n")
            continue
        raise DataError(
            f"The download of {source.name} from {url} is corrupt or incomplete "
            f"(SHA-256 {digest[:12]}... instead of {source.sha256[:12]}...), so it was "
            f"deleted: run this again, or {WAY_OUT}.")


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
        return _fetch(source, folder, _url(source, mirror), progress, timeout)
