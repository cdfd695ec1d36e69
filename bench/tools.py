"""The external load generators the benchmark drives: h2load and pgbench."""

import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass

_APT_PACKAGES = {"h2load": "nghttp2-client", "pgbench": "postgresql"}


@dataclass(frozen=True)
class Tools:
    """Paths of the binaries the benchmark runs."""

    h2load: str
    pgbench: str


def _find(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    # Debian keeps PostgreSQL's client programs per version, not always on PATH.
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _apt_install(packages: list[str]) -> None:
    print(f"installing {' '.join(packages)} with apt-get (running as root)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def ensure_tools(*, install: bool) -> Tools:
    """Locate h2load and pgbench; as root with `install`, apt-get the missing ones first.

    Exits with the exact install command when a tool is missing and cannot be installed.
    """
    missing = [name for name in _APT_PACKAGES if _find(name) is None]
    if missing and install and os.geteuid() == 0 and shutil.which("apt-get"):
        _apt_install([_APT_PACKAGES[name] for name in missing])
        missing = [name for name in _APT_PACKAGES if _find(name) is None]
    if missing:
        packages = " ".join(_APT_PACKAGES[name] for name in missing)
        sys.exit(
            f"bench: missing {', '.join(missing)}; install with:\n"
            f"  apt-get update && apt-get install -y {packages}"
        )
    h2load, pgbench = _find("h2load"), _find("pgbench")
    assert h2load is not None
    assert pgbench is not None
    return Tools(h2load=h2load, pgbench=pgbench)
