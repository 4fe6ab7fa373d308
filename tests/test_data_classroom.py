"""The data module under classroom conditions: several processes on one
cache, resumed downloads, full and read-only disks, proxies' web pages, the network
and lock timeouts, and one download shared with the room by ``cnnlesson.share``.

Everything runs on loopback (127.0.0.1) with small archives in the official format;
disk errors are simulated (the tests run as root, for whom chmod stops nothing)."""
from __future__ import annotations

import errno
import hashlib
import http.server
import os
import re
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import cnnlesson.data as data
import cnnlesson.download as data_download
from cnnlesson import share
from cnnlesson.data import DataError
from test_data import (LoopbackServer, QuietHandler, assert_one_sentence, leftovers, make_cifar_archive,  # noqa: F401
                       make_cifar_folder, no_env, official)

ROOT = Path(__file__).resolve().parent.parent
NAME = "cifar-10-python.tar.gz"


class Server(LoopbackServer):
    """A loopback HTTP server that honours ``Range`` and misbehaves on request.

    ``cut``: the first full download is cut off halfway; ``ignore_range``: always
    answers 200 with the whole file; ``html``: a proxy's login page; ``slow``:
    seconds to spread each body over; ``stall``: accept and never answer.
    """

    def __init__(self, files, *, cut=False, ignore_range=False, html=False, slow=0.0,
                 stall=False):
        self.files, self.requests, self.sent = files, [], 0
        self.cut, self.ignore_range, self.html, self.slow, self.stall = (
            cut, ignore_range, html, slow, stall)
        outer = self

        class Handler(QuietHandler):
            def do_GET(self):  # noqa: N802
                rng = self.headers.get("Range")
                outer.requests.append((self.path, rng))
                if outer.stall:  # until the test is over (or 30 s)
                    outer.done.wait(30)
                    return
                if outer.html:
                    page = b"<!DOCTYPE html><html><body>Please log in to the Wi-Fi</body></html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                body = outer.files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                m = re.fullmatch(r"bytes=(\d+)-", rng or "")
                if m and not outer.ignore_range:
                    start = int(m[1])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/x-gzip")
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                payload = body[start:]
                if outer.cut and start == 0:
                    outer.cut = False
                    payload = payload[: len(payload) // 2]
                    self.close_connection = True
                pieces = 20 if outer.slow else 1
                step = -(-len(payload) // pieces)
                for i in range(0, len(payload), step):
                    self.wfile.write(payload[i:i + step])
                    self.wfile.flush()
                    outer.sent += len(payload[i:i + step])
                    if outer.slow:
                        time.sleep(outer.slow / pieces)

        self._listen(Handler)


@pytest.fixture
def archive():
    body, arrays = make_cifar_archive()
    return body, arrays, hashlib.sha256(body).hexdigest()


def fails_to_write(monkeypatch, code, when=lambda path, mode: True, after=0):
    """Make the data module's writes fail with ``code`` (ENOSPC, EACCES, EROFS)."""
    real = data_download._open

    class Full:
        def __init__(self, f):
            self.f, self.n = f, 0

        def write(self, b):
            if self.n + len(b) > after:
                raise OSError(code, os.strerror(code))
            self.n += len(b)
            return self.f.write(b)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake(path, mode="rb"):
        if any(c in mode for c in "wa") and when(Path(path), mode):
            if after == 0:
                raise OSError(code, os.strerror(code), str(path))
            return Full(real(path, mode))
        return real(path, mode)

    monkeypatch.setattr(data_download, "_open", fake)


# ---------------------------------------------------------------- one cache, many processes
def run_learner(script, env=None, **kw):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CNNLESSON_")}
    full_env.update(env or {})
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT,
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def patched(url, sha, mnist_sha="0" * 64):
    return f"""
        import hashlib, sys, time
        import cnnlesson.data as data
        data.CIFAR10 = data.Source("CIFAR-10", "{url}/{NAME}", "{NAME}", "{sha}", 1000)
        data.MNIST = data.Source("MNIST", "{url}/mnist.npz", "mnist.npz", "{mnist_sha}", 1000)
    """


def test_four_processes_share_one_download(tmp_path, archive):
    body, _, sha = archive
    cache = tmp_path / "cache"
    with Server({NAME: body}, slow=1.5) as server:
        ready = tmp_path / "ready"
        ready.mkdir()
        script = patched(server.url, sha) + f"""
        import os, pathlib
        ready = pathlib.Path(r"{ready}")
        (ready / str(os.getpid())).touch()
        t0 = time.time()  # all four ask at the same moment, once all four are up
        while len(list(ready.iterdir())) < 4 and time.time() - t0 < 30:
            time.sleep(0.02)
        d = data.load_cifar10(cache=r"{cache}")
        h = hashlib.sha256()
        for a in (d.x_train, d.y_train, d.x_test, d.y_test):
            h.update(a.tobytes())
        print("ARRAYS", h.hexdigest())
        """
        procs = [run_learner(script) for _ in range(4)]
        outs = [p.communicate(timeout=60) for p in procs]
        gets = list(server.requests)
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
    digests = {re.search(r"ARRAYS (\w+)", out)[1] for out, _ in outs}
    assert len(digests) == 1  # identical arrays in all four
    assert gets == [(f"/{NAME}", None)]  # one download for the four
    waited = [out for out, _ in outs if "Another process is downloading CIFAR-10" in out]
    assert len(waited) == 3
    assert (cache / NAME).read_bytes() == body
    assert not list(cache.glob("*.part"))


def test_a_crashed_download_does_not_block_the_next(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    cache = tmp_path / "cache"
    cache.mkdir()
    half = len(body) // 2
    (tmp_path / "received").write_bytes(body[:half])
    # a process takes the lock, writes half the archive and dies without cleaning up
    crash = patched("http://127.0.0.1:9", sha) + f"""
        import os
        from filelock import FileLock
        FileLock(r"{cache / (NAME + '.lock')}").acquire()
        open(r"{cache / (NAME + '.part')}", "wb").write(open(r"{tmp_path / 'received'}", "rb").read())
        os._exit(9)
    """
    p = run_learner(crash)
    p.communicate(timeout=30)
    assert p.returncode == 9
    with Server({NAME: body}) as server:
        src = data.Source("CIFAR-10", f"{server.url}/{NAME}", NAME, sha, 1000)
        monkeypatch.setenv(data.ENV_LOCK_TIMEOUT, "2")
        path = data.download(src, cache=cache, progress=False)
        assert server.requests == [(f"/{NAME}", f"bytes={half}-")]  # and it resumed
    assert path.read_bytes() == body


def test_a_process_that_makes_no_progress_is_waited_for_then_named(monkeypatch, tmp_path, archive):
    from filelock import FileLock
    monkeypatch.setenv(data.ENV_LOCK_TIMEOUT, "1.5")
    src = data.Source("CIFAR-10", f"{closed_port_url()}/{NAME}", NAME, archive[2], 1000)
    holder = FileLock(tmp_path / (NAME + ".lock"))
    holder.acquire()
    try:
        with pytest.raises(DataError) as err:
            data.download(src, cache=tmp_path, progress=False)
    finally:
        holder.release()
    assert_one_sentence(err, "without progress", data.ENV_LOCK_TIMEOUT, str(tmp_path))


# ------------------------------------------------------------------------------ resume
def test_broken_download_resumes_with_range(monkeypatch, tmp_path, archive, capsys):
    body, arrays, sha = archive
    with Server({NAME: body}, cut=True) as server:  # cuts the first download halfway
        official(monkeypatch, server.url, sha)
        d = data.load_cifar10(cache=tmp_path)
        half = len(body) // 2
        assert server.requests == [(f"/{NAME}", None), (f"/{NAME}", f"bytes={half}-")]
        assert server.sent == len(body)  # every byte crossed the network once
    out = capsys.readouterr().out
    assert "The connection broke off; resuming (1 of 3)." in out
    assert "Resuming the download of CIFAR-10" in out
    assert (tmp_path / NAME).read_bytes() == body
    assert leftovers(tmp_path) == [NAME, "cifar10-official.npz"]
    assert d.x_test.shape == (20, 32, 32, 3)


def test_broken_download_resumes_on_the_next_run(monkeypatch, tmp_path, archive):
    body, arrays, sha = archive
    monkeypatch.setattr(data_download, "RETRIES", 0)  # e.g. the Wi-Fi stays away: the learner runs it again
    with Server({NAME: body}, cut=True) as server:
        official(monkeypatch, server.url, sha)
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
        assert_one_sentence(err, "broke off", "the part is kept", "continue where it stopped")
        half = (tmp_path / (NAME + ".part")).stat().st_size
        assert half == len(body) // 2
        data.load_cifar10(cache=tmp_path, progress=False)
        assert server.requests == [(f"/{NAME}", None), (f"/{NAME}", f"bytes={half}-")]
        assert server.sent == len(body)
    assert (tmp_path / NAME).read_bytes() == body


def test_dead_network_is_not_retried(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    with Server({NAME: body}, stall=True) as server:
        monkeypatch.setenv(data.ENV_TIMEOUT, "0.3")
        official(monkeypatch, server.url, sha)
        with pytest.raises(DataError):
            data.load_cifar10(cache=tmp_path, progress=False)
        assert len(server.requests) == 1


def test_server_that_ignores_range_gives_a_full_download(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    (tmp_path / (NAME + ".part")).write_bytes(body[:1000])
    with Server({NAME: body}, ignore_range=True) as server:
        official(monkeypatch, server.url, sha)
        data.load_cifar10(cache=tmp_path, progress=False)
        assert server.requests == [(f"/{NAME}", "bytes=1000-")]
    assert (tmp_path / NAME).read_bytes() == body  # the 200 replaced the part, not appended


def test_a_stale_part_that_fails_the_checksum_is_fetched_again_from_the_start(
        monkeypatch, tmp_path, archive):
    body, _, sha = archive
    (tmp_path / (NAME + ".part")).write_bytes(b"x" * 1000)  # from some other file
    with Server({NAME: body}) as server:
        official(monkeypatch, server.url, sha)
        data.load_cifar10(cache=tmp_path, progress=False)
        assert server.requests == [(f"/{NAME}", "bytes=1000-"), (f"/{NAME}", None)]
    assert (tmp_path / NAME).read_bytes() == body


# ------------------------------------------------------------------- one sentence each
def test_web_page_instead_of_archive(monkeypatch, tmp_path, archive):
    with Server({}, html=True) as server:
        official(monkeypatch, server.url, archive[2])
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "sent a web page instead of the CIFAR-10 archive", "log in",
                        data.ENV_MIRROR)
    assert leftovers(tmp_path) == []


def test_full_disk_is_found_before_downloading(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    monkeypatch.setattr(data_download.shutil, "disk_usage", lambda p: type("U", (), {"free": 100})())
    with Server({NAME: body}) as server:
        official(monkeypatch, server.url, sha)
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
        assert server.requests == []  # not a byte fetched for nothing
    assert_one_sentence(err, "is full", str(tmp_path), "needs about 1 kB",  # Source size 1000
                        data.ENV_CACHE_DIR)
    assert "internet" not in str(err.value)


def test_disk_full_during_the_download(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    fails_to_write(monkeypatch, errno.ENOSPC, lambda p, m: p.name.endswith(".part"), after=5000)
    with Server({NAME: body}) as server:
        official(monkeypatch, server.url, sha)
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "is full", f"needs about {len(body) / 1e3:.0f} kB", str(tmp_path),
                        data.ENV_CACHE_DIR)
    assert "internet" not in str(err.value)
    assert leftovers(tmp_path) == []  # the part is deleted: it held the space needed


def test_disk_full_while_keeping_decoded_arrays(monkeypatch, tmp_path, archive, capsys):
    body, _, sha = archive
    fails_to_write(monkeypatch, errno.ENOSPC, lambda p, m: ".npz" in p.name, after=1000)
    with Server({NAME: body}) as server:
        official(monkeypatch, server.url, sha)
        d = data.load_cifar10(cache=tmp_path, progress=False)  # the lesson goes on
    assert d.x_train.shape == (100, 32, 32, 3)
    note = capsys.readouterr().err.strip()
    assert note.startswith("Note: the data are loaded, but not kept for next time.")
    assert "is full" in note and data.ENV_CACHE_DIR in note and "\n" not in note
    assert leftovers(tmp_path) == [NAME]  # the verified archive, no .npz.part


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_read_only_cache_during_a_download(monkeypatch, tmp_path, archive, code):
    fails_to_write(monkeypatch, code)
    with Server({NAME: archive[0]}) as server:
        official(monkeypatch, server.url, archive[2])
        with pytest.raises(DataError) as err:
            data.load_cifar10(cache=tmp_path, progress=False)
        assert server.requests == []
    assert_one_sentence(err, f"{tmp_path} cannot be written to", data.ENV_CACHE_DIR)
    assert "internet" not in str(err.value)


def test_read_only_cache_with_a_verified_archive_still_loads(monkeypatch, tmp_path, archive, capsys):
    (tmp_path / NAME).write_bytes(archive[0])  # e.g. a shared drive filled by the instructor
    fails_to_write(monkeypatch, errno.EROFS)
    official(monkeypatch, closed_port_url(), archive[2])
    d = data.load_cifar10(cache=tmp_path, progress=False)
    assert len(d.x_test) == 20
    assert "cannot be written to" in capsys.readouterr().err


def test_read_only_cache_with_a_local_folder(monkeypatch, tmp_path, capsys):
    root = make_cifar_folder(tmp_path / "copy")
    fails_to_write(monkeypatch, errno.EACCES)
    d = data.load_cifar10(data_dir=root, cache=tmp_path / "cache")
    assert d.x_train.shape == (20, 32, 32, 3)
    note = capsys.readouterr().err
    assert "cannot be written to" in note and data.ENV_CACHE_DIR in note
    assert list((tmp_path / "cache").iterdir()) == []


def test_cache_folder_that_cannot_be_created(monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(data.ENV_CACHE_DIR, str(tmp_path / "a-file" / "cache"))
    with pytest.raises(DataError) as err:
        data.load_cifar10(progress=False)
    assert_one_sentence(err, "cannot be created", data.ENV_CACHE_DIR)

    def denied(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))
    monkeypatch.setattr(data_download.Path, "mkdir", denied)
    monkeypatch.setenv(data.ENV_CACHE_DIR, str(tmp_path / "new" / "cache"))
    with pytest.raises(DataError) as err:
        data.load_mnist(progress=False)
    assert_one_sentence(err, "cannot be created (Permission denied)", data.ENV_CACHE_DIR)


def closed_port_url():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


def test_network_timeout_setting(monkeypatch, tmp_path, archive):
    monkeypatch.setenv(data.ENV_TIMEOUT, "0.5")
    with Server({NAME: archive[0]}, stall=True) as server:
        official(monkeypatch, server.url, archive[2])
        with pytest.raises(DataError) as err:  # "timed out": the setting cut the wait short
            data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, "Could not download CIFAR-10", "timed out",
                        f"raise {data.ENV_TIMEOUT} (now 0.5 s)", data.ENV_MIRROR)
    monkeypatch.setenv(data.ENV_TIMEOUT, "soon")
    with pytest.raises(DataError) as err:
        data.load_cifar10(cache=tmp_path, progress=False)
    assert_one_sentence(err, f"{data.ENV_TIMEOUT} must be a number of seconds", "'soon'")


def test_progress_shows_rate_and_time_left(monkeypatch, tmp_path, archive, capsys):
    body, _, sha = archive
    with Server({NAME: body}) as server:
        official(monkeypatch, server.url, sha)
        data.download(data.CIFAR10, cache=tmp_path)
    out = capsys.readouterr().out
    assert "Downloading CIFAR-10" in out and "100%" in out
    assert re.search(r"\d+(\.\d+)?[kMG]?B/s", out), out  # a rate
    assert re.search(r"<\d\d:\d\d", out), out  # time left


# ------------------------------------------------------------------ one download per room
def test_instructor_fetches_once_and_serves_the_room(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    mnist = b"PK fake mnist.npz bytes: only served and checked here, never read"
    mnist_sha = hashlib.sha256(mnist).hexdigest()
    room = tmp_path / "lesson-data"
    with Server({NAME: body, "mnist.npz": mnist}) as upstream:  # the official sites
        official(monkeypatch, upstream.url, sha)
        monkeypatch.setattr(data, "MNIST", data.Source(
            "MNIST", f"{upstream.url}/mnist.npz", "mnist.npz", mnist_sha, 1000))
        assert share.main(["fetch", str(room)]) == 0
        assert share.main(["fetch", str(room)]) == 0  # again: checked, not fetched
        assert sorted(upstream.requests) == [(f"/{NAME}", None), ("/mnist.npz", None)]
    assert (room / NAME).read_bytes() == body and (room / "mnist.npz").read_bytes() == mnist

    # `python -m cnnlesson.share serve` in its own process, as on the instructor's laptop
    script = patched("http://127.0.0.1:9", sha, mnist_sha) + f"""
        from cnnlesson import share
        sys.exit(share.main(["serve", r"{room}", "--port", "0", "--bind", "127.0.0.1"]))
    """
    proc = run_learner(script)
    try:
        line = proc.stdout.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", line)[1]
        assert f"export {data.ENV_MIRROR}={url}" in proc.stdout.readline()
        # two learners on the room's network, each with their own cache
        official(monkeypatch, closed_port_url(), sha)  # no internet
        monkeypatch.setenv(data.ENV_MIRROR, url)
        a = data.load_cifar10(cache=tmp_path / "learner1", progress=False)
        b = data.load_cifar10(cache=tmp_path / "learner2", progress=False)
        np.testing.assert_array_equal(a.x_train, b.x_train)
        # a learner whose download broke off continues from the instructor's server
        part = tmp_path / "learner3" / (NAME + ".part")
        part.parent.mkdir()
        part.write_bytes(body[:777])
        req = urllib.request.Request(url + NAME, headers={"Range": "bytes=777-"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 206 and r.read() == body[777:]
        c = data.load_cifar10(cache=tmp_path / "learner3", progress=False)
        np.testing.assert_array_equal(a.x_test, c.x_test)
        monkeypatch.setattr(data, "MNIST", data.Source(
            "MNIST", closed_port_url() + "/mnist.npz", "mnist.npz", mnist_sha, 1000))
        assert data.download(data.MNIST, cache=tmp_path / "learner1").read_bytes() == mnist
        # only the verified archives are served, nothing else in the folder
        (room / "notes.txt").write_text("private")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "notes.txt", timeout=10)
        assert e.value.code == 404
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_serve_refuses_a_folder_without_verified_archives(tmp_path, archive):
    (tmp_path / NAME).write_bytes(archive[0][:500])  # damaged
    p = subprocess.run([sys.executable, "-m", "cnnlesson.share", "serve", str(tmp_path),
                        "--port", "0", "--bind", "127.0.0.1"], cwd=ROOT, capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 1
    msg = p.stderr.strip()
    assert msg.startswith("Error:") and "\n" not in msg and "SHA-256" in msg
    assert "cnnlesson.share fetch" in msg
    empty = tmp_path / "empty"
    empty.mkdir()
    p = subprocess.run([sys.executable, "-m", "cnnlesson.share", "serve", str(empty)], cwd=ROOT,
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and "run `python -m cnnlesson.share fetch" in p.stderr


def test_a_part_that_is_already_whole_is_checked_not_fetched(monkeypatch, tmp_path, archive,
                                                            capsys):
    """A download that died between its last byte and the rename: the server answers
    416 (nothing after that byte) and the part is verified and kept."""
    body, _, sha = archive
    room = tmp_path / "room"
    room.mkdir()
    (room / NAME).write_bytes(body)
    official(monkeypatch, closed_port_url(), sha)
    server = share.make_server(room, bind="127.0.0.1", port=0)  # logs each request
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        cache = tmp_path / "learner"
        cache.mkdir()
        (cache / (NAME + ".part")).write_bytes(body)
        d = data.load_cifar10(cache=cache, mirror=url, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert (cache / NAME).read_bytes() == body and len(d.x_train) == 100
    log = capsys.readouterr().out
    assert f'"GET /{NAME} HTTP/1.1" 416' in log, log


def test_ctrl_c_keeps_the_part_and_the_next_run_resumes(monkeypatch, tmp_path, archive):
    body, _, sha = archive
    real = data_download._open

    class Interrupted:  # the learner presses Ctrl-C after the first 64 kB were written
        def __init__(self, f):
            self.f = f

        def write(self, b):
            if self.f.tell() > 0:
                raise KeyboardInterrupt
            return self.f.write(b)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(data_download, "_open", lambda p, m="rb": Interrupted(real(p, m)))
    with Server({NAME: body}) as server:
        official(monkeypatch, server.url, sha)
        with pytest.raises(KeyboardInterrupt):
            data.load_cifar10(cache=tmp_path, progress=False)
        kept = (tmp_path / (NAME + ".part")).read_bytes()
        assert kept and body.startswith(kept)
        monkeypatch.setattr(data_download, "_open", real)
        data.load_cifar10(cache=tmp_path, progress=False)
        assert server.requests[-1] == (f"/{NAME}", f"bytes={len(kept)}-")
    assert (tmp_path / NAME).read_bytes() == body
