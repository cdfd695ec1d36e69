"""The TypeScript SDK (clients/typescript): its generated code matches the protos, and its own
Node test suite passes against the live test server."""

import asyncio
import fcntl
import filecmp
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SDK = ROOT / "clients" / "typescript"
TEMPLATE = SDK / "buf.gen.yaml"
GENERATED = SDK / "src" / "gen"
BIN = Path(sys.executable).parent
NODE = shutil.which("node")
NPM = shutil.which("npm")
# Written into node_modules after `npm ci`: the hash of the lockfile it installed.
STAMP = SDK / "node_modules" / ".finance-tracker-lock-sha256"

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None, reason="Node.js not installed: TypeScript SDK tests skipped"
)


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


def differences(left: Path, right: Path) -> list[str]:
    """Paths of files that differ between two trees, or exist in only one."""
    comparison = filecmp.dircmp(left, right)
    found = [*comparison.left_only, *comparison.right_only]
    found += [name for name in comparison.common_files if not same_file(left / name, right / name)]
    for sub in comparison.common_dirs:
        found += [f"{sub}/{d}" for d in differences(left / sub, right / sub)]
    return found


def same_file(left: Path, right: Path) -> bool:
    """Byte-for-byte equality (dircmp's own comparison trusts equal sizes and mtimes)."""
    return left.read_bytes() == right.read_bytes()


@pytest.fixture(scope="module")
def node_modules() -> Path:
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


def test_generated_code_is_current(node_modules, tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    template = str(TEMPLATE.relative_to(ROOT))
    result = run(
        ["buf", "generate", "--template", template, "--output", str(tmp_path)],
        cwd=ROOT,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, output(result)
    fresh = tmp_path / GENERATED.relative_to(ROOT)
    stale = differences(GENERATED, fresh)
    assert not stale, (
        f"clients/typescript/src/gen is stale; run `cd clients/typescript && npm ci && npm run"
        f" generate`: {stale}"
    )


async def test_node_suite_passes_against_the_live_server(node_modules, app):
    assert NPM is not None
    env = {**os.environ, "FINANCE_TRACKER_ADDRESS": f"127.0.0.1:{app.port}"}
    # In a thread: the server answers on this test's event loop.
    result = await asyncio.to_thread(run, [NPM, "test"], cwd=SDK, timeout=120, env=env)
    assert result.returncode == 0, output(result)
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None, output(result)
    assert int(passed.group(1)) > 0, f"no Node test ran\n{output(result)}"
    for line in ("# fail 0", "# skipped 0"):
        assert line in result.stdout.splitlines(), output(result)
