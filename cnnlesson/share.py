"""One download per room: fetch the lesson's archives once, then share them.

On the instructor's laptop (with internet, the evening before)::

    python -m cnnlesson.share fetch lesson-data/     # download + check both archives
    python -m cnnlesson.share serve lesson-data/     # serve them on the local network

``serve`` checks the SHA-256 of every archive before it serves it, prints the
address to give the learners, and answers HTTP ``Range`` requests, so that a
learner's download that broke off continues where it stopped. On every learner's
machine::

    export CNNLESSON_MIRROR=http://192.168.1.10:8000/

The folder that ``fetch`` fills can also be copied (USB stick, shared drive) and
used as ``CNNLESSON_CACHE_DIR``: nothing is downloaded then.

Why a server of our own rather than ``python -m http.server``: the standard
library's server ignores ``Range`` (so no learner could resume) and serves every
file in the folder; this one serves only the verified archives, and is about 80
lines on top of :mod:`http.server`.
"""
from __future__ import annotations

import argparse
import http.server
import re
import socket
import sys
from pathlib import Path

from . import data

CHUNK = 1 << 20


def sources():
    """The archives the lesson downloads, looked up when called (tests swap them)."""
    return [data.CIFAR10, data.MNIST]


def fetch(folder, *, mirror=None, only=None, progress=True):
    """Download (or find and check) every archive in ``folder``; return their paths."""
    folder = data.cache_dir(folder)
    return [data.download(s, mirror=mirror, cache=folder, progress=progress)
            for s in sources() if only is None or s.name in only]


def verified(folder) -> dict:
    """``{file name: (path, size)}`` of the archives in ``folder`` whose SHA-256 is right.

    Raises :class:`cnnlesson.data.DataError` when a file is there but damaged, or
    when none is there at all.
    """
    folder = Path(folder).expanduser()
    found = {}
    for s in sources():
        path = folder / s.filename
        if not path.exists():
            continue
        if not data._verified(path, s):
            raise data.DataError(
                f"{path} does not have the SHA-256 of the official {s.name} archive: delete "
                f"it and run `python -m cnnlesson.share fetch {folder}` again.")
        found[s.filename] = (path, path.stat().st_size)
    if not found:
        names = " and ".join(s.filename for s in sources())
        raise data.DataError(
            f"There is neither {names} in {folder}: run `python -m cnnlesson.share fetch "
            f"{folder}` first, on a machine with internet.")
    return found


def _lan_address() -> str:
    """This machine's address on the local network (no packet is sent)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        return s.getsockname()[0]
    except OSError:
        return socket.gethostbyname(socket.gethostname())
    finally:
        s.close()


def make_server(folder, *, bind="0.0.0.0", port=8000, quiet=False):
    """An HTTP server for the verified archives in ``folder`` (not started)."""
    files = verified(folder)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_HEAD(self):  # noqa: N802
            self.do_GET(body=False)

        def do_GET(self, body=True):  # noqa: N802
            name = self.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
            if name == "":
                page = (f"cnnlesson classroom mirror. Files: {', '.join(files)}.\n"
                        f"Set CNNLESSON_MIRROR to this page's address.\n").encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                if body:
                    self.wfile.write(page)
                return
            if name not in files:
                self.send_error(404, f"only {', '.join(files)} are served here")
                return
            path, size = files[name]
            start, end = 0, size - 1
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
            if m and (m[1] or m[2]):
                if m[1]:
                    start = int(m[1])
                    end = min(int(m[2]), size - 1) if m[2] else size - 1
                else:  # the last N bytes
                    start = max(size - int(m[2]), 0)
                if start >= size or start > end:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            else:
                self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.end_headers()
            if not body:
                return
            left = end - start + 1
            try:
                with open(path, "rb") as f:
                    f.seek(start)
                    while left > 0:
                        block = f.read(min(CHUNK, left))
                        if not block:
                            break
                        self.wfile.write(block)
                        left -= len(block)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the learner stopped; they can resume

        def log_message(self, fmt, *args):
            if not quiet:
                sys.stdout.write(f"{self.client_address[0]} {fmt % args}\n")
                sys.stdout.flush()

    server = http.server.ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    server.files = files
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m cnnlesson.share",
        description="Download the lesson's data once and share it with the room.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download and check both archives into FOLDER")
    f.add_argument("folder")
    f.add_argument("--mirror", help="download from this URL prefix instead of the official sites")
    s = sub.add_parser("serve", help="serve the checked archives in FOLDER on the network")
    s.add_argument("folder")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    s.add_argument("--bind", default="0.0.0.0",
                   help="address to listen on (default 0.0.0.0: every network)")
    s.add_argument("--quiet", action="store_true", help="do not log each request")
    args = parser.parse_args(argv)
    try:
        if args.command == "fetch":
            for path in fetch(args.folder, mirror=args.mirror):
                print(f"ok  {path}")
            print(f"Serve them with `python -m cnnlesson.share serve {args.folder}`, or copy "
                  f"the folder to the learners and set {data.ENV_CACHE_DIR} to it.")
            return 0
        server = make_server(args.folder, bind=args.bind, port=args.port, quiet=args.quiet)
    except data.DataError as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    except OSError as err:  # port taken, or no permission for it
        print(f"Error: cannot listen on {args.bind}:{args.port} ({err.strerror or err}): "
              f"choose another with --port.", file=sys.stderr)
        return 1
    host, port = server.server_address[:2]
    shown = _lan_address() if host == "0.0.0.0" else host
    print(f"Serving {', '.join(server.files)} from {Path(args.folder).resolve()} "
          f"at http://{shown}:{port}/", flush=True)
    print(f"On every learner's machine: export {data.ENV_MIRROR}=http://{shown}:{port}/"
          f"   (Windows: set {data.ENV_MIRROR}=http://{shown}:{port}/). Ctrl-C stops.",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
