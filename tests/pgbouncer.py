"""PgBouncer in transaction pooling mode in front of the test database server.

PgBouncer comes from the Debian package `pgbouncer` (1.18 on these machines), which `.ci/run`
installs where it is missing; without it the tests that need it skip, saying so.
"""

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

PGBOUNCER = shutil.which("pgbouncer") or next(
    (path for path in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(path, os.X_OK)),
    None,
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_line(server_url: str) -> tuple[str, str]:
    """The connection settings of a [databases] entry for every database of the server at
    `server_url` (a TCP host or a unix socket directory), and the user it logs in as."""
    parts = urlsplit(server_url)
    query = parse_qs(parts.query)
    host = query.get("host", [parts.hostname or "127.0.0.1"])[0]
    user = unquote(parts.username or "postgres")
    settings = f"host={host} port={parts.port or 5432} user={user}"
    if parts.password:
        settings += f" password={unquote(parts.password)}"
    return settings, user


def _unprivileged_user(server_url: str) -> str:
    """Whom PgBouncer runs as when we are root (it refuses to run as root): the owner of the
    server's socket directory, which PostgreSQL lets connect, or else nobody."""
    host = parse_qs(urlsplit(server_url).query).get("host", [""])[0]
    if host.startswith("/"):
        owner = Path(host).stat().st_uid
        if owner != 0:
            return pwd.getpwuid(owner).pw_name
    return "nobody"


@contextmanager
def pgbouncer(server_url: str, *, pool_size: int) -> Iterator[str]:
    """A PgBouncer in transaction mode with at most `pool_size` server connections per
    database, in front of the PostgreSQL server of `server_url`; yields its own URL, without a
    database name (append `/name`). Skips the test where PgBouncer is not installed."""
    if PGBOUNCER is None:
        pytest.skip(
            "PgBouncer is not installed: `apt-get install pgbouncer` (.ci/run does this where"
            " apt-get is available)"
        )
    server, user = _server_line(server_url)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="finance-tracker-pgbouncer-") as tmp:
        os.chmod(tmp, 0o755)  # readable by the user PgBouncer switches to
        config = Path(tmp) / "pgbouncer.ini"
        config.write_text(
            "[databases]\n"
            f"* = {server}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {port}\n"
            "unix_socket_dir =\n"
            # Any client user name is taken, and the server is logged in to as `user`.
            "auth_type = any\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {pool_size}\n"
            "max_client_conn = 200\n"
        )
        os.chmod(config, 0o644)
        command = [
            PGBOUNCER,
            *(["-u", _unprivileged_user(server_url)] if os.geteuid() == 0 else []),
        ]
        log = Path(tmp) / "pgbouncer.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*command, str(config)], stdout=out, stderr=out)
        try:
            _wait_until_listening(port, process, log)
            yield f"postgresql://{user}@127.0.0.1:{port}"
        finally:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"PgBouncer exited ({process.returncode}):\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"PgBouncer did not listen on {port} within 10s:\n{log.read_text()}")
