"""The TypeScript SDK's Node.js tooling, for the tests that run it."""

import fcntl
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "clients" / "typescript"
NODE = shutil.which("node")
NPM = shutil.which("npm")
# Written into node_modules after `npm ci`: the hash of the lockfile it installed.
STAMP = SDK / "node_modules" / ".finance-tracker-lock-sha256"


def run(
    command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output as text."""
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    """What a finished command printed, for an assertion message."""
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def install_node_modules() -> Path:
    """clients/typescript/node_modules as package-lock.json says, installed by `npm ci` unless
    it already is (a lock keeps two test runs from installing into the same tree at once)."""
    assert NPM is not None
    lock_hash = hashlib.sha256((SDK / "package-lock.json").read_bytes()).hexdigest()
    lock_name = f"finance-tracker-npm-{hashlib.sha256(bytes(SDK)).hexdigest()[:16]}.lock"
    with open(Path(tempfile.gettempdir()) / lock_name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        current = STAMP.is_file() and STAMP.read_text().strip() == lock_hash
        if not current:
            result = run(
                [NPM, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=SDK, timeout=180
            )
            assert result.returncode == 0, f"npm ci failed\n{output(result)}"
            STAMP.write_text(lock_hash + "\n")
        fcntl.flock(lock, fcntl.LOCK_UN)
    return SDK / "node_modules"
