"""Run a process under a hard memory limit, the way Binder does, and see whether it fits.

Binder (a Kubernetes pod) guarantees each user 1 GB and enforces its limit with a Linux
memory cgroup: when the memory charged to the cgroup reaches the limit, the kernel first
takes back what it can (the pages of files and shared libraries, which it can read
again), and only when that is not enough does it stop the process. A process's resident
set size (RSS) counts those library pages too, so a peak RSS above 1 GB does not prove
that a notebook needs more than 1 GB; running it in a cgroup limited to 1 GB does.

``MemoryLimit(1024)`` makes such a cgroup (cgroup v1 or v2, whichever this machine
mounts writable), ``add(pid)`` moves a process into it, ``peak_mb()`` reads the highest
charge, ``oom_kills()`` how many processes the limit stopped. It needs the right to
create cgroups (root in a container, or a delegated cgroup); without it, creating one
raises ``Unavailable`` with the reason, and the benchmark reports "not measured".

Our own code, about 100 lines of reading and writing a few files: the packages on PyPI
for cgroups (``cgroupspy``, ``cgroup-utils``) are written for cgroup v1, while newer
systems mount only v2, and ``systemd-run --scope -p MemoryMax=`` needs a running
systemd, which containers rarely have.
"""
from __future__ import annotations

import os
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

V2 = Path("/sys/fs/cgroup")
V1 = Path("/sys/fs/cgroup/memory")


class Unavailable(RuntimeError):
    """This machine does not let us create a memory cgroup."""


def drop_page_cache():
    """Empty the system's page cache, so that a process started next is charged for every
    page of a file it reads, the libraries of TensorFlow among them, as in a fresh Binder
    pod. (A page already cached stays charged to the cgroup that first read it, which would
    hide it from ours.) Needs root; returns whether it worked."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


class MemoryLimit:
    def __init__(self, limit_mb, name=None):
        self.limit = int(limit_mb * 2**20)
        name = name or f"cnnlesson-{uuid.uuid4().hex[:8]}"
        if (V2 / "cgroup.controllers").exists() and "memory" in (
                V2 / "cgroup.subtree_control").read_text().split():
            self.v2, self.path = True, V2 / name
        elif (V1 / "memory.limit_in_bytes").exists():
            self.v2, self.path = False, V1 / name
        else:
            raise Unavailable("this machine mounts no memory cgroup controller")
        try:
            self.path.mkdir()
        except OSError as err:
            raise Unavailable(f"cannot create a memory cgroup ({err.strerror})") from err
        try:
            if self.v2:
                self._write("memory.max", self.limit)
                self._write("memory.swap.max", 0, missing_ok=True)
            else:
                self._write("memory.limit_in_bytes", self.limit)
                # no swap either (where swap accounting exists), as on Binder
                self._write("memory.memsw.limit_in_bytes", self.limit, missing_ok=True)
        except OSError as err:
            self.close()
            raise Unavailable(f"cannot set a memory limit ({err.strerror})") from err

    def _write(self, name, value, missing_ok=False):
        f = self.path / name
        if missing_ok and not f.exists():
            return
        f.write_text(f"{value}\n")

    def _read(self, name):
        f = self.path / name
        return f.read_text() if f.exists() else ""

    def add(self, pid):
        """Move a process in. Only what it allocates from then on counts (newer kernels
        no longer move a process's earlier charges along): use ``spawning`` instead."""
        self._write("cgroup.procs", pid)

    @contextmanager
    def spawning(self):
        """Processes started inside this block start in the cgroup, and everything they
        ever allocate counts. (This process joins the cgroup for the block, since a child
        starts in its parent's cgroup, and goes back to its own after it.)"""
        own = self._own_cgroup()
        self.add(os.getpid())
        try:
            yield
        finally:
            (own / "cgroup.procs").write_text(f"{os.getpid()}\n")

    def _own_cgroup(self):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, rel = line.split(":", 2)
            if (self.v2 and controllers == "") or (
                    not self.v2 and "memory" in controllers.split(",")):
                return (V2 if self.v2 else V1) / rel.lstrip("/")
        raise Unavailable("cannot tell which cgroup this process is in")

    def peak_mb(self):
        """The highest memory charged to the cgroup (None where the kernel does not say)."""
        raw = self._read("memory.peak" if self.v2 else "memory.max_usage_in_bytes").strip()
        return int(raw) / 2**20 if raw else None

    def _counter(self, name, key):
        """The number after ``key`` in one of the cgroup's "key value" files, or None."""
        for line in self._read(name).splitlines():
            k, _, value = line.partition(" ")
            if k == key:
                return int(value)
        return None

    def oom_kills(self):
        kills = self._counter("memory.events" if self.v2 else "memory.oom_control", "oom_kill")
        return kills or 0

    def major_faults(self):
        """Pages its processes had to read back from disk: a process that fits in the limit
        reads its libraries once; one that does not fit but has not been stopped keeps
        dropping and re-reading them ("thrashing"), and runs many times slower."""
        return self._counter("memory.stat", "pgmajfault")

    def close(self):
        """Remove the cgroup, once its processes have ended (a kernel takes a moment)."""
        for _ in range(50):
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class KernelLimit:
    """What ``tools.execute.execute(..., limit=...)`` needs to start a notebook's kernel
    under a hard limit of ``limit_mb``, the way Binder runs it: the page cache emptied
    first, the kernel started inside the cgroup, and what the limit saw at the end."""

    def __init__(self, limit_mb):
        self.limit_mb = limit_mb
        self._limit = None

    def start(self):
        try:
            self._limit = MemoryLimit(self.limit_mb)
        except Unavailable as err:
            return {"limit_mb": self.limit_mb, "unavailable": str(err)}
        return {"limit_mb": self.limit_mb, "page_cache_dropped": drop_page_cache()}

    def spawning(self):
        return self._limit.spawning()

    def finish(self):
        """oom_kills and major_faults (not the peak charge: under a limit the page cache
        fills the cgroup up to the limit), then the cgroup is removed."""
        try:
            return {"oom_kills": self._limit.oom_kills(),
                    "major_faults": self._limit.major_faults()}
        finally:
            self._limit.close()
