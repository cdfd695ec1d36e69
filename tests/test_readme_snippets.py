"""The README's client snippets, run as written against a live server."""

import asyncio
import os
import re
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Calling it from another service", 1)[1].split("\n## ", 1)[0]


def snippet(language: str) -> str:
    """The first fenced block of `language` in the README's client section."""
    found = re.search(rf"```{language}\n(.*?)```", SECTION, re.DOTALL)
    assert found, f"no {language} snippet in the README's client section"
    return found.group(1)


async def run(command: list[str], port: int, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FINANCE_TRACKER_ADDRESS": f"127.0.0.1:{port}"}
    # In a thread: the server answering the snippet runs on this test's event loop.
    return await asyncio.to_thread(
        subprocess.run, command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def test_python_snippet_creates_a_user(app):
    result = await run([sys.executable, "-c", snippet("python")], app.port, ROOT)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^created users/\S+$", result.stdout, re.MULTILINE), result.stdout


async def test_javascript_snippet_creates_a_user(app, request):
    node = shutil.which("node")
    package = ROOT / "clients" / "typescript"
    if node is None or shutil.which("npm") is None:
        pytest.skip("Node.js not installed: the README's JavaScript snippet is not run")
    # The package's dependencies as its lockfile says (npm ci), installed in a thread.
    await asyncio.to_thread(request.getfixturevalue, "node_modules")
    result = await run([node, "--input-type=module", "-e", snippet("js")], app.port, package)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^created users/\S+$", result.stdout, re.MULTILINE), result.stdout


GRPCURL_SECTION = README.split("## Calling it with grpcurl", 1)[1].split("\n## ", 1)[0]
GRPCURL_BLOCKS = re.findall(r"```sh\n(.*?)```", GRPCURL_SECTION, re.DOTALL)


def test_grpcurl_examples_run_it_from_the_virtualenv():
    # `uv sync` puts grpcurl in .venv/bin, which is not on PATH: a bare call is not found.
    script = "".join(GRPCURL_BLOCKS)
    assert script.count("grpcurl -") == script.count("uv run grpcurl -") > 0


async def test_grpcurl_examples_work_as_written(app):
    """Every example in order (they share $ACCOUNT) on the test server, under a user of its
    own; the last one is the bad request, which must fail as the README says."""
    user_id = f"readme-{uuid.uuid4().hex[:12]}"
    *examples, bad_request = (_for_test_server(b, app.port, user_id) for b in GRPCURL_BLOCKS)
    ran = await _bash("set -euo pipefail\n" + "".join(examples))
    assert ran.returncode == 0, ran.stderr
    assert '"displayName": "Everyday checking"' in ran.stdout  # the update with a mask
    # The balance as of the 31st: the opening balance of the 1st (opening_date) less lunch.
    assert '"units": "108"' in ran.stdout
    # The dollar's rate in euros, from the euro's in dollars of the 31st.
    assert '"value": "0.922339051835"' in ran.stdout
    assert '"inverted": true' in ran.stdout
    # The lunch, cleared, and the opening balance make the statement's closing balance.
    assert '"reconciled": true' in ran.stdout
    failed = await _bash(bad_request)
    assert "Code: InvalidArgument" in failed.stdout + failed.stderr
    assert "'EUX' is not an ISO 4217 currency code" in failed.stdout + failed.stderr


def _for_test_server(block: str, port: int, user_id: str) -> str:
    # The grpcurl `uv run grpcurl` finds, without running uv inside the test run.
    block = block.replace("uv run grpcurl ", f"{Path(sys.executable).parent / 'grpcurl'} ")
    block = block.replace("localhost:50051", f"127.0.0.1:{port}")
    # A user of the test's own, since the run's database is shared by every test.
    return block.replace("ada-lovelace", user_id)


async def _bash(script: str) -> subprocess.CompletedProcess[str]:
    # In a thread: the server answering the script runs on this test's event loop.
    return await asyncio.to_thread(
        subprocess.run, ["bash", "-c", script], capture_output=True, text=True, timeout=120
    )
