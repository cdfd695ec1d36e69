"""The project as shipped: generated code matches the protos, and the wheel runs on its own."""

import filecmp
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import with_database

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool_env() -> dict[str, str]:
    """The environment with this virtualenv's tools (buf, protoc plugins) first on PATH."""
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def differences(left: Path, right: Path) -> list[str]:
    """Paths of files that differ between two trees, or exist in only one."""
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__"])
    found = [*comparison.left_only, *comparison.right_only, *comparison.diff_files]
    for sub in comparison.common_dirs:
        found += [f"{sub}/{d}" for d in differences(left / sub, right / sub)]
    return found


def test_generated_code_is_current(tmp_path):
    subprocess.run(
        ["buf", "generate", "--output", str(tmp_path)],
        cwd=ROOT,
        env=tool_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    stale = differences(ROOT / "generated", tmp_path / "generated")
    assert not stale, f"generated/ is stale; run `uv run buf generate`: {stale}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def empty_database_url(server_url):
    name = f"finance_wheel_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(server_url, name)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def wait_until_serving(cli: Path, address: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        check = subprocess.run(
            [str(cli), "health", "--address", address, "--timeout", "1"],
            capture_output=True,
            text=True,
        )
        if check.returncode == 0:
            return
        time.sleep(0.3)
    raise AssertionError("the server from the wheel never became SERVING")


@pytest.mark.slow
def test_wheel_runs_in_a_clean_venv_without_dev_dependencies(tmp_path, empty_database_url):
    uv = shutil.which("uv")
    assert uv, "uv is needed to build the wheel"
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((tmp_path / "dist").glob("finance_tracker-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run(
        [uv, "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True
    )
    subprocess.run(
        [uv, "pip", "install", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    python = venv / "bin" / "python"
    for dev_only in ("pytest", "grpc_tools", "mypy"):
        probe = subprocess.run([str(python), "-c", f"import {dev_only}"], capture_output=True)
        assert probe.returncode != 0, f"{dev_only} should not be installed with the wheel"

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "FINANCE_TRACKER_DATABASE_URL": empty_database_url,
        "FINANCE_TRACKER_HOST": "127.0.0.1",
        "FINANCE_TRACKER_PORT": str(port),
        "FINANCE_TRACKER_LOG_FORMAT": "json",
    }
    cli = venv / "bin" / "finance-tracker"
    process = subprocess.Popen(
        [str(cli), "serve"], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_until_serving(cli, f"127.0.0.1:{port}", process)
        created = subprocess.run(
            [
                str(BIN / "grpcurl"),
                "-plaintext",
                "-d",
                '{"user":{"display_name":"Wheel"}}',
                f"127.0.0.1:{port}",
                "finance.v1.UserService/CreateUser",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert created.returncode == 0, created.stderr
        process.send_signal(signal.SIGTERM)
        _, logs = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, logs
    assert '"message": "stopped"' in logs
    assert '"code": "OK"' in logs
