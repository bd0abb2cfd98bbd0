"""A PostgreSQL cluster of a test's own: created with ``initdb`` in a temporary folder, served on a free
port, and at the test's mercy (its clients' connections terminated, the server stopped and started) without
touching the shared server other tests use.

As root (PostgreSQL refuses to run as root) the server runs as the ``postgres`` user; otherwise as the
test's own user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

#: Where Debian puts the server's programs (one folder per major version).
POSTGRES_BIN = Path("/usr/lib/postgresql")


def _bin_dir() -> Path | None:
    versions = sorted(POSTGRES_BIN.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return versions[-1].parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """A throw-away PostgreSQL server (trust authentication, user ``postgres``, database ``postgres``).

    Attributes:
        url: Its SQLAlchemy URL.
    """

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.skip(f"needs PostgreSQL's server programs under {POSTGRES_BIN}")
        self.bin_dir = bin_dir
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="nas-pg-"))
        if self.as_user:
            shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"), "-o", options, "-w",
                  "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: clients disconnected, transactions rolled back; ``immediate``: as a
        crash)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def terminate_clients(self) -> int:
        """Terminate every client's connection (``pg_terminate_backend``), as an administrator or a failing
        network would; how many were terminated."""
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True, connect_timeout=5) as admin:  # fmt: skip
            row = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()
        return int(row[0]) if row else 0

    @contextlib.contextmanager
    def terminating(self, every_s: float) -> Iterator[list[int]]:
        """Within the block, terminate every client's connection each ``every_s`` seconds; yields the
        list of how many each round terminated (filled in as they happen)."""
        counts: list[int] = []
        done = threading.Event()

        def loop() -> None:
            while not done.wait(every_s):
                with contextlib.suppress(Exception):  # the server may be busy restarting a backend
                    counts.append(self.terminate_clients())

        thread = threading.Thread(target=loop, name="pg-terminator", daemon=True)
        thread.start()
        try:
            yield counts
        finally:
            done.set()
            thread.join()

    def remove(self) -> None:
        """Stop the server if it runs and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    """A running private PostgreSQL cluster, removed after the test."""
    if shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("as root, needs runuser to start PostgreSQL as the postgres user")
    cluster = PrivateCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()
