"""The README's sections on mutual TLS and bearer tokens, run as written: the development
credentials tool into a fresh directory, a server with the section's settings over those
files, and the section's grpcurl calls against it."""

import asyncio
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings, serving

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
TOOL = f"{sys.executable} {ROOT / 'tools' / 'dev_credentials.py'}"
GRPCURL = Path(sys.executable).parent / "grpcurl"


def section(title: str) -> str:
    """The README's section `title`, up to the next one."""
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def blocks(text: str) -> list[str]:
    """The fenced shell blocks of `text`."""
    return re.findall(r"```sh\n(.*?)```", text, re.DOTALL)


SECTIONS = ("Running with mutual TLS", "Running with bearer tokens (JWT)")
MAKE_CREDENTIALS = blocks(section("Who may call"))[0]


def server_settings(serve: str, directory: Path) -> dict[str, Any]:
    """The settings of a `FINANCE_TRACKER_...=value ... finance-tracker serve` block, with
    relative paths made absolute within `directory`."""
    assert "uv run finance-tracker serve" in serve
    found = re.findall(r"FINANCE_TRACKER_(\w+)=(\S+)", serve)
    assert found, serve
    return {
        name.lower(): (str(directory / value) if "/" in value and "://" not in value else value)
        for name, value in found
    }


def for_test_server(block: str, port: int, user_id: str) -> str:
    """A README block that runs here: the virtualenv's grpcurl and tool (not `uv run` inside
    the test run), the test server's port, and a user of the test's own."""
    block = block.replace("uv run grpcurl ", f"{GRPCURL} ")
    block = block.replace("uv run tools/dev_credentials.py ", f"{TOOL} ")
    block = block.replace("localhost:50051", f"localhost:{port}")
    return block.replace("grace-hopper", user_id)


async def bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # In a thread: the server answering the script runs on this test's event loop.
    return await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_sections_run_grpcurl_and_the_tool_through_uv():
    for title in SECTIONS:
        script = "".join(blocks(section(title)))
        assert script.count("grpcurl -") == script.count("uv run grpcurl -") > 0
        assert script.count("dev_credentials.py") == script.count("uv run tools/dev_credentials.py")
    assert MAKE_CREDENTIALS.startswith("uv run tools/dev_credentials.py dev-credentials")


@pytest.mark.parametrize(
    ("title", "principal"),
    [
        ("Running with mutual TLS", "spiffe://finance-tracker.local/dev-client"),
        ("Running with bearer tokens (JWT)", "grace"),
    ],
)
async def test_a_section_works_as_written(title, principal, tmp_path, database, database_url):
    made = await bash(
        MAKE_CREDENTIALS.replace("uv run tools/dev_credentials.py ", f"{TOOL} "), tmp_path
    )
    assert made.returncode == 0, made.stderr
    serve, calls = blocks(section(title))
    settings = make_settings(database_url, **server_settings(serve, tmp_path))
    user_id = f"readme-{uuid.uuid4().hex[:12]}"
    async with serving(database, settings) as app:
        ran = await bash(for_test_server(calls, app.port, user_id), tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert f'"name": "users/{user_id}"' in ran.stdout
    assert f'"principal": "{principal}"' in ran.stdout
    assert '"role": "ROLE_OWNER"' in ran.stdout
