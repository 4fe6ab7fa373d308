"""The data module: official downloads (against a loopback HTTP server), checksums,
the cache, local copies, clear errors, and the lesson's split."""
from __future__ import annotations

import errno
import gzip
import hashlib
import http.server
import io
import os
import pickle
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import cnnlesson.data as data
import cnnlesson.formats as formats
from cnnlesson.data import DataError

RNG = np.random.default_rng(42)


# ------------------------------------------------------------------ test archives
def make_cifar_archive(per_batch=20, n_test=20):
    """A small archive in the official cifar-10-python.tar.gz format."""
    arrays = {}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(name, obj):
            raw = pickle.dumps(obj)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
        for name, n in [(f"data_batch_{i}", per_batch) for i in range(1, 6)] + [("test_batch", n_test)]:
            x = RNG.integers(0, 256, (n, 3072), dtype=np.uint8)
            y = [int(v) for v in RNG.permutation(np.arange(n) % 10)]
            arrays[name] = (x, y)
            add(name, {b"batch_label": name.encode(), b"data": x, b"labels": y})
        add("batches.meta", {b"label_names": [c.encode() for c in data.CIFAR10_CLASSES]})
    return buf.getvalue(), arrays


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 for one test, used as a context manager;
    a subclass builds its request handler (a QuietHandler) and calls ``_listen``."""

    def _listen(self, handler):
        self.done = threading.Event()  # set on exit: handlers that wait give up
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class Server(LoopbackServer):
    """A loopback HTTP server: serves files from a dict, or misbehaves on purpose."""

    def __init__(self, files, truncate=False):
        self.files, self.truncate, self.requests = files, truncate, []
        outer = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                outer.requests.append(self.path)
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if outer.truncate else body)
                if outer.truncate:
                    self.wfile.flush()
                    self.close_connection = True

        self._listen(Handler)


def closed_port_url():
    s = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = s.server_address[1]
    s.server_close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def archive():
    body, arrays = make_cifar_archive()
    return body, arrays, hashlib.sha256(body).hexdigest()


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for var in (data.ENV_DATA_DIR, data.ENV_MIRROR, data.ENV_CACHE_DIR):
        monkeypatch.delenv(var, raising=False)


def official(monkeypatch, url, sha):
    src = data.Source("CIFAR-10", f"{url}/cifar-10-python.tar.gz", "cifar-10-python.tar.gz",
                      sha, 1000)
    monkeypatch.setattr(data, "CIFAR10", src)
    return src


def leftovers(folder: Path):
    """What a failed load left in the cache, besides the (empty) lock files, which stay
    by design: an OS lock on them is released by the kernel, so they block nothing."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def assert_one_sentence(err, *must_contain):
    msg = str(err.value)
    assert "\n" not in msg and msg.endswith("."), msg
    for word in must_contain:
        assert word in msg, (word, msg)


# --------------------------------------------------------------------- downloads
def test_download_verifies_caches_and_reads_official_format(monkeypatch, tmp_path, archive, capsys):
    body, arrays, sha = archive
    with Server({"cifar-10-python.tar.gz": body}) as server:
        official(monkeypatch, server.url, sha)
        d = data.load_cifar10(cache=tmp_path)
        assert server.requests == ["/cifar-10-python.tar.gz"]
    assert "Downloading CIFAR-10" in capsys.readouterr().out
    assert (tmp_path / "cifar-10-python.tar.gz").read_bytes() == body
    assert not list(tmp_path.glob("*.part"))
    assert d.x_train.shape == (100, 32, 32, 3) and d.x_test.shape == (20, 32, 32, 3)
    assert d.x_train.dtype == np.uint8 and d.class_names == data.CIFAR10_CLASSES
    assert (np.diff(d.y_train.astype(int)) >= 0).all()  # ordered by class
    # pixel values: the first test image of class 0, as the official format stores it
    x, y = arrays["test_batch"]
    first = x[y.index(0)].reshape(3, 32, 32).transpose(1, 2, 0)
    np.testing.assert_array_equal(d.x_test[0], first)
    # served from the cache once the server is gone: no second download
    again = data.load_cifar10(cache=tmp_path)
    np.testing.assert_array_equal(again.x_train, d.x_train)


def test_mirror_setting_is_used_with_the_same_checksum(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    official(monkeypatch, closed_port_url(), sha)  # the official host is unreachable
    with Server({"cifar-10-python.tar.gz": body}) as mirror:
        monkeypatch.setenv(data.ENV_MIRROR, mirror.url + "/lesson-data/")
        d = data.load_cifar10(cache=tmp_path, progress=False)
        assert mirror.requests == ["/lesson-data/cifar-10-python.tar.gz"]
    assert len(d.x_train) == 100


def test_corrupt_download_is_deleted_before_anything_is_unpickled(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    bad = bytearray(body)
    bad[len(bad) // 2] ^= 0xFF
    monkeypatch.setattr(formats.pickle, "load", lambda *a, **k: pytest.fail("unpickled unverified data"))
    with Server({"cifar-10-python.tar.gz": bytes(bad)}) as server:
        official(monkeypatch, server.url, sha)
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "corrupt or incomplete", "deleted", data.ENV_DATA_DIR, data.ENV_MIRROR)
    assert leftovers(tmp_path) == []  # nothing half-written stays in the cache


def test_truncated_download_keeps_only_the_part_to_resume(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    with Server({"cifar-10-python.tar.gz": body}, truncate=True) as server:
        official(monkeypatch, server.url, sha)
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "broke off", "run this again to continue", data.ENV_DATA_DIR)
    # nothing unverified under the archive's name; the bytes received wait in .part
    assert leftovers(tmp_path) == ["cifar-10-python.tar.gz.part"]
    assert (tmp_path / "cifar-10-python.tar.gz.part").read_bytes() == body[: len(body) // 2]


def test_no_network_and_no_local_copy(monkeypatch, tmp_path, archive):
    official(monkeypatch, closed_port_url(), archive[2])
    with pytest.raises(DataError) as err:
        data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "Could not download CIFAR-10", "internet connection",
                        data.ENV_DATA_DIR, data.ENV_MIRROR)
    assert leftovers(tmp_path) == []


def test_http_error_is_explained(monkeypatch, tmp_path, archive):
    with Server({}) as server:  # answers 404
        official(monkeypatch, server.url, archive[2])
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "Could not download", "Not Found")


def test_damaged_cached_archive_is_fetched_again(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(body[:1000])  # a truncated leftover
    with Server({"cifar-10-python.tar.gz": body}) as server:
        official(monkeypatch, server.url, sha)
        d = data.load_cifar10(cache=tmp_path, progress=False)
        assert len(server.requests) == 1
    assert len(d.x_test) == 20
    assert (tmp_path / "cifar-10-python.tar.gz").read_bytes() == body


def test_cache_dir_setting(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    monkeypatch.setenv(data.ENV_CACHE_DIR, str(tmp_path / "my-cache"))
    with Server({"cifar-10-python.tar.gz": body}) as server:
        official(monkeypatch, server.url, sha)
        data.load_cifar10(progress=False)
    assert (tmp_path / "my-cache" / "cifar-10-python.tar.gz").exists()


def test_mnist_download_from_keras_source_format(monkeypatch, tmp_path):
    arrays = {"x_train": RNG.integers(0, 256, (30, 28, 28), dtype=np.uint8),
              "y_train": np.arange(30, dtype=np.uint8) % 10,
              "x_test": RNG.integers(0, 256, (10, 28, 28), dtype=np.uint8),
              "y_test": np.arange(10, dtype=np.uint8)}
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    body = buf.getvalue()
    with Server({"mnist.npz": body}) as server:
        monkeypatch.setattr(data, "MNIST", data.Source(
            "MNIST", f"{server.url}/mnist.npz", "mnist.npz", hashlib.sha256(body).hexdigest(), 1))
        d = data.load_mnist(cache=tmp_path, progress=False)
    assert d.x_train.shape == (30, 28, 28, 1) and d.x_test.shape == (10, 28, 28, 1)
    assert sorted(d.y_train.tolist()) == d.y_train.tolist()


# ----------------------------------------------------------------- local copies
def make_cifar_folder(root: Path, per_class=2, size=32):
    for split in ("train", "test"):
        for c in data.CIFAR10_CLASSES:
            folder = root / "cifar10" / split / c
            folder.mkdir(parents=True)
            for i in range(per_class):
                px = RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(px).save(folder / f"{i:04d}.jpg", quality=95)
    return root


def test_local_folder_via_setting(monkeypatch, tmp_path):
    root = make_cifar_folder(tmp_path / "copy")
    monkeypatch.setenv(data.ENV_DATA_DIR, str(root))
    monkeypatch.setattr(data, "download", lambda *a, **k: pytest.fail("downloaded"))
    d = data.load_cifar10(cache=tmp_path / "cache")
    assert d.x_train.shape == (20, 32, 32, 3) and d.x_test.shape == (20, 32, 32, 3)
    assert d.y_train.tolist() == [i // 2 for i in range(20)]
    decoded = np.asarray(Image.open(root / "cifar10/train/cat/0001.jpg"))
    np.testing.assert_array_equal(d.x_train[7], decoded)
    assert len(list((tmp_path / "cache").glob("cifar10-local-*.npz"))) == 1


def test_local_folder_with_missing_class(tmp_path):
    root = make_cifar_folder(tmp_path / "copy")
    for f in (root / "cifar10/test/dog").iterdir():
        f.unlink()
    (root / "cifar10/test/dog").rmdir()
    with pytest.raises(DataError) as err:
        data.load_cifar10(data_dir=root, cache=tmp_path / "cache")
    assert_one_sentence(err, "no folder for dog", "test/", data.ENV_DATA_DIR)


def test_local_folder_with_unreadable_image(tmp_path):
    root = make_cifar_folder(tmp_path / "copy")
    bad = root / "cifar10/train/horse/0001.jpg"
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(DataError) as err:
        data.load_cifar10(data_dir=root, cache=tmp_path / "cache")
    assert_one_sentence(err, str(bad), "cannot be read")
    assert not list((tmp_path / "cache").glob("*.npz"))  # no cache built from bad data


def test_local_folder_with_wrong_image_size(tmp_path):
    root = make_cifar_folder(tmp_path / "copy")
    Image.fromarray(np.zeros((40, 48, 3), np.uint8)).save(root / "cifar10/train/ship/0000.jpg")
    with pytest.raises(DataError) as err:
        data.load_cifar10(data_dir=root, cache=tmp_path / "cache")
    assert_one_sentence(err, "48x40 pixels, not 32x32")


def test_read_image_checks_a_learners_own_folder_with_a_general_way_out(tmp_path):
    """The public check names the file and the fault, and tells a learner what to do with
    their own file, not how to reach the lesson's copy of CIFAR-10."""
    import cnnlesson
    good, small, broken = tmp_path / "good.png", tmp_path / "small.png", tmp_path / "broken.jpg"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(good)
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(small)
    broken.write_bytes(b"\xff\xd8 cut short")
    assert cnnlesson.read_image(good).shape == (32, 32, 3)
    for path, fault in ((small, "30x20 pixels, not 32x32"), (broken, "cannot be read")):
        with pytest.raises(DataError) as err:
            cnnlesson.read_image(path, (32, 32, 3))
        assert_one_sentence(err, str(path), fault, "replace or delete it")
        assert data.ENV_DATA_DIR not in str(err.value)


def test_local_folder_missing_entirely(tmp_path):
    with pytest.raises(DataError) as err:
        data.load_cifar10(data_dir=tmp_path / "nowhere", cache=tmp_path / "cache")
    assert_one_sentence(err, "There is no CIFAR-10 folder", data.ENV_DATA_DIR)


def write_idx(path, array, magic):
    header = struct.pack(">" + "I" * (1 + array.ndim), magic, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def make_mnist_folder(root: Path, n=20):
    folder = root / "mnist"
    folder.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz",
                  RNG.integers(0, 256, (n, 28, 28)), 2051)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10, 2049)
    return root


def test_local_mnist_idx(tmp_path):
    d = data.load_mnist(data_dir=make_mnist_folder(tmp_path))
    assert d.x_train.shape == (20, 28, 28, 1) and d.y_test.shape == (20,)
    assert d.class_names[3] == "3"


def test_local_mnist_truncated_file(tmp_path):
    root = make_mnist_folder(tmp_path)
    f = root / "mnist/t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(f.read_bytes())
    with gzip.open(f, "wb") as out:
        out.write(raw[:-100])
    with pytest.raises(DataError) as err:
        data.load_mnist(data_dir=root)
    assert_one_sentence(err, "damaged or not in IDX format", data.ENV_DATA_DIR)


def test_local_mnist_missing_file(tmp_path):
    root = make_mnist_folder(tmp_path)
    (root / "mnist/train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError) as err:
        data.load_mnist(data_dir=root)
    assert_one_sentence(err, "lacks train-labels-idx1-ubyte.gz")


# ----------------------------------------------------------------- lesson split
def test_lesson_split_is_deterministic_balanced_and_disjoint():
    y = np.repeat(np.arange(10), 50)
    x = np.arange(500)[:, None]  # each "image" is its own index
    (xa, ya), (va, vya) = data.lesson_split(x, y, 200, 100, seed=3)
    (xb, _), (vb, _) = data.lesson_split(x, y, 200, 100, seed=3)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(va, vb)
    assert np.bincount(ya).tolist() == [20] * 10 and np.bincount(vya).tolist() == [10] * 10
    assert not set(xa.ravel()) & set(va.ravel())
    (xc, _), _ = data.lesson_split(x, y, 200, 100, seed=4)
    assert not np.array_equal(xa, xc)
    with pytest.raises(ValueError):
        data.lesson_split(x, y, 450, 100)


def test_a_smaller_validation_set_lies_inside_a_larger_one_and_outside_its_training_set():
    """Episode 9 measures episode 8's best model (45,000 training, 5,000 validation
    images) on the default split's validation images: with the same seed, those must be
    among the larger split's validation images, never among its training images."""
    y = np.repeat(np.arange(10), 50)
    x = np.arange(500)[:, None]
    _, (small_val, _) = data.lesson_split(x, y, 100, 100, seed=0)
    (big_train, _), (big_val, _) = data.lesson_split(x, y, 350, 150, seed=0)
    assert set(small_val.ravel()) <= set(big_val.ravel())
    assert not set(small_val.ravel()) & set(big_train.ravel())


def test_lesson_data_keeps_the_official_test_split(monkeypatch, tmp_path):
    root = make_cifar_folder(tmp_path / "copy", per_class=4)
    d = data.load_lesson_data(n_train=20, n_val=10, data_dir=root, cache=tmp_path / "c")
    full = data.load_cifar10(data_dir=root, cache=tmp_path / "c")
    assert d.x_train.shape == (20, 32, 32, 3) and d.x_val.shape == (10, 32, 32, 3)
    np.testing.assert_array_equal(d.x_test, full.x_test)
    assert "train=(20, 32, 32, 3)" in repr(d)
    with pytest.raises(ValueError, match="dataset must be one of"):
        data.load_lesson_data("imagenet")


def test_lesson_data_reads_only_the_chosen_images_from_the_cache(monkeypatch, tmp_path):
    """Once the cache file exists, load_lesson_data reads the chosen rows from it in
    chunks (the whole split is never in memory, for Binder's sake) and gives exactly the arrays
    that lesson_split takes from the whole split; a damaged cache file is rebuilt."""
    root = make_cifar_folder(tmp_path / "copy", per_class=9)
    kw = dict(data_dir=root, cache=tmp_path / "c")
    full = data.load_cifar10(**kw)  # makes the cache file
    (x_tr, y_tr), (x_val, y_val) = data.lesson_split(full.x_train, full.y_train, 40, 20, seed=5)
    monkeypatch.setattr(data, "_load_arrays", lambda path: pytest.fail("read the whole file"))
    d = data.load_lesson_data(n_train=40, n_val=20, seed=5, **kw)
    for got, want in [(d.x_train, x_tr), (d.y_train, y_tr), (d.x_val, x_val), (d.y_val, y_val),
                      (d.x_test, full.x_test), (d.y_test, full.y_test)]:
        np.testing.assert_array_equal(got, want)
    # chunks smaller than the split, rows asked for out of order
    npz = data._cifar10_npz(**kw)
    rows = np.array([8, 0, 89, 3, 45])
    np.testing.assert_array_equal(data._npz_rows(npz, "x_train", rows, chunk=7), full.x_train[rows])
    with pytest.raises(ValueError, match="multiples"):
        data.load_lesson_data(n_train=41, n_val=20, **kw)
    # a damaged cache file: deleted, and the data are read again from the images
    monkeypatch.undo()
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    d = data.load_lesson_data(n_train=40, n_val=20, seed=5, **kw)
    np.testing.assert_array_equal(d.x_train, x_tr)
    assert data._cifar10_npz(**kw) is not None  # rebuilt


def test_lesson_data_on_disk_is_a_memory_map_of_the_same_images(tmp_path):
    """on_disk=True (episode 8's 45,000 images): x_train is a read-only np.memmap of a
    file beside the cache file, with exactly the images of the in-memory load; it is
    written once and reused, a new split replaces it, and it works before any cache
    file exists (loading makes one)."""
    root = make_cifar_folder(tmp_path / "copy", per_class=9)
    kw = dict(data_dir=root, cache=tmp_path / "c")
    d = data.load_lesson_data(n_train=40, n_val=20, seed=5, on_disk=True, **kw)
    want = data.load_lesson_data(n_train=40, n_val=20, seed=5, **kw)
    assert isinstance(d.x_train, np.memmap) and not d.x_train.flags.writeable
    assert not isinstance(d.x_val, np.memmap)
    for got, exp in [(d.x_train, want.x_train), (d.y_train, want.y_train),
                     (d.x_val, want.x_val), (d.x_test, want.x_test)]:
        np.testing.assert_array_equal(got, exp)
    files = list((tmp_path / "c").glob("*-train-*.npy"))
    assert len(files) == 1 and Path(d.x_train.filename) == files[0]
    stamp = files[0].stat().st_mtime_ns
    again = data.load_lesson_data(n_train=40, n_val=20, seed=5, on_disk=True, **kw)
    assert Path(again.x_train.filename) == files[0] and files[0].stat().st_mtime_ns == stamp
    other = data.load_lesson_data(n_train=40, n_val=20, seed=6, on_disk=True, **kw)
    np.testing.assert_array_equal(
        other.x_train, data.load_lesson_data(n_train=40, n_val=20, seed=6, **kw).x_train)
    assert [Path(other.x_train.filename)] == list((tmp_path / "c").glob("*-train-*.npy"))
    with pytest.raises(ValueError, match="on_disk"):
        data.load_lesson_data("mnist", on_disk=True, cache=tmp_path / "m",
                              data_dir=tmp_path / "nothing-here")


def test_lesson_data_on_disk_full_disk_is_one_sentence(monkeypatch, tmp_path):
    root = make_cifar_folder(tmp_path / "copy", per_class=9)
    kw = dict(data_dir=root, cache=tmp_path / "c")
    data.load_cifar10(**kw)

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(np.lib.format, "open_memmap", full)
    with pytest.raises(data.DataError, match="full"):
        data.load_lesson_data(n_train=40, n_val=20, on_disk=True, **kw)
    assert not list((tmp_path / "c").glob("*.tmp")) + list((tmp_path / "c").glob("*-train-*"))


# ------------------------------------------------- the real local copies (CI, dev)
shared = os.environ.get(data.ENV_DATA_DIR)
needs_shared = pytest.mark.skipif(not shared, reason=f"{data.ENV_DATA_DIR} is not set")


@needs_shared
def test_real_cifar10_copy(monkeypatch):
    monkeypatch.setenv(data.ENV_DATA_DIR, shared)
    d = data.load_cifar10()
    assert d.x_train.shape == (50000, 32, 32, 3) and d.x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(d.y_train).tolist() == [5000] * 10
    assert np.bincount(d.y_test).tolist() == [1000] * 10
    assert 100 < d.x_train.mean() < 150  # real photographs, not noise or zeros


@needs_shared
def test_real_mnist_copy(monkeypatch):
    monkeypatch.setenv(data.ENV_DATA_DIR, shared)
    d = data.load_mnist()
    assert d.x_train.shape == (60000, 28, 28, 1) and d.x_test.shape == (10000, 28, 28, 1)
    # the uncompressed training images match the published SHA-256 of the official file
    raw = gzip.decompress((Path(shared) / "mnist/train-images-idx3-ubyte.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db")
