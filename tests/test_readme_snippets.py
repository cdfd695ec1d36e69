"""The README's client snippets, run as written against a live server."""

import asyncio
import os
import re
import shutil
import subprocess
import sys
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
