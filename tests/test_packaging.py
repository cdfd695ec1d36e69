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


# Documents in docs/ written by hand, beside the generated API reference.
HAND_WRITTEN_DOCS = ["scaling.md"]


def differences(left: Path, right: Path, ignore: list[str] | None = None) -> list[str]:
    """Paths of files that differ between two trees, or exist in only one, but for `ignore`."""
    comparison = filecmp.dircmp(left, right, ignore=["__pycache__", *(ignore or [])])
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
    # The code, and the API reference docs/api.md.
    for tree, ignore in (("generated", []), ("docs", HAND_WRITTEN_DOCS)):
        stale = differences(ROOT / tree, tmp_path / tree, ignore)
        assert not stale, f"{tree}/ is stale; run `uv run buf generate`: {stale}"


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
    assert uv, "uv is needed to build the wheels"
    dist = tmp_path / "dist"
    subprocess.run(
        [uv, "build", "--all-packages", "--wheel", "--out-dir", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    server_wheel = next(dist.glob("finance_tracker-*.whl"))
    client_wheel = next(dist.glob("finance_tracker_client-*.whl"))

    def clean_venv(name: str, *wheels: Path) -> Path:
        venv: Path = tmp_path / name
        subprocess.run(
            [uv, "venv", "--python", sys.executable, str(venv)], check=True, capture_output=True
        )
        python = venv / "bin" / "python"
        subprocess.run(
            [uv, "pip", "install", "--python", str(python), *map(str, wheels)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        return python

    python = clean_venv("venv", server_wheel, client_wheel)
    # One copy of the generated code: the client wheel ships it, the server wheel depends on it.
    top_level_packages = (
        "import importlib.metadata as m, sys\n"
        "for name in sys.argv[1:]:\n"
        "    print(f'{name}:', *sorted({f.parts[0] for f in m.files(name) if f.suffix == '.py'}))"
    )
    packages = subprocess.run(
        [str(python), "-c", top_level_packages, "finance-tracker", "finance-tracker-client"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert packages.stdout.splitlines() == [
        "finance-tracker: service",
        "finance-tracker-client: finance finance_tracker_client",
    ]
    for dev_only in ("pytest", "grpc_tools", "mypy"):
        probe = subprocess.run([str(python), "-c", f"import {dev_only}"], capture_output=True)
        assert probe.returncode != 0, f"{dev_only} should not be installed with the wheel"
    client_python = clean_venv("client-venv", client_wheel)
    for server_only in ("service", "asyncpg", "pgserver", "pydantic"):
        probe = subprocess.run(
            [str(client_python), "-c", f"import {server_only}"], cwd=tmp_path, capture_output=True
        )
        assert probe.returncode != 0, f"{server_only} should not come with the client wheel"

    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "FINANCE_TRACKER_DATABASE_URL": empty_database_url,
        "FINANCE_TRACKER_HOST": "127.0.0.1",
        "FINANCE_TRACKER_PORT": str(port),
        "FINANCE_TRACKER_LOG_FORMAT": "json",
    }
    cli = python.parent / "finance-tracker"
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
        # The client wheel on its own: a call, and the error decoded to the SDK's exception.
        script = (
            "import asyncio, pathlib, sys\n"
            "from finance.v1 import user_service_pb2 as upb\n"
            "assert pathlib.Path(upb.__file__).with_name('py.typed').is_file()\n"
            "from finance_tracker_client import AsyncFinanceClient, FinanceClient, NotFoundError\n"
            "request = upb.GetUserRequest(name='users/nobody')\n"
            "async def main():\n"
            "    async with AsyncFinanceClient(sys.argv[1]) as client:\n"
            "        try:\n"
            "            await client.users.get_user(request)\n"
            "        except NotFoundError as error:\n"
            "            print('async', error.resource_name)\n"
            "asyncio.run(main())\n"
            "with FinanceClient(sys.argv[1]) as client:\n"
            "    try:\n"
            "        client.users.get_user(request)\n"
            "    except NotFoundError as error:\n"
            "        print('sync', error.resource_name)\n"
        )
        called = subprocess.run(
            [str(client_python), "-c", script, f"127.0.0.1:{port}"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert called.returncode == 0, called.stderr
        assert called.stdout.splitlines() == ["async users/nobody", "sync users/nobody"]
        process.send_signal(signal.SIGTERM)
        _, logs = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, logs
    assert '"message": "stopped"' in logs
    assert '"code": "OK"' in logs


def test_the_image_binds_every_interface_explicitly():
    # Without authentication the server binds to loopback only, which nobody outside the
    # container could reach: the image names the address itself.
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    run_stage = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM")) :]
    assert any("FINANCE_TRACKER_HOST=0.0.0.0" in line for line in run_stage)
