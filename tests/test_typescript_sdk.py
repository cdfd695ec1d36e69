"""The TypeScript SDK (clients/typescript): its generated code matches the protos, and its own
Node test suite passes against the live test servers (one without authentication, one taking
bearer tokens over TLS, one taking client certificates)."""

import asyncio
import filecmp
import json
import os
import re
import sys
import uuid
from pathlib import Path

import pytest

from tests.node_sdk import NODE, NPM, ROOT, SDK, output, run
from tools.dev_credentials import DEV_CLIENT_ID, dev_token

TEMPLATE = SDK / "buf.gen.yaml"
GENERATED = SDK / "src" / "gen"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    NODE is None or NPM is None, reason="Node.js not installed: TypeScript SDK tests skipped"
)


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


async def test_node_suite_passes_against_the_live_servers(
    node_modules, app, jwt_app, mtls_app, dev_credentials
):
    assert NPM is not None
    subject = f"typescript-{uuid.uuid4().hex[:12]}"  # the run's database is shared
    tokens = [dev_token(dev_credentials, subject) for _ in range(3)]
    env = {
        **os.environ,
        "FINANCE_TRACKER_ADDRESS": f"127.0.0.1:{app.port}",
        "FINANCE_TRACKER_JWT_ADDRESS": f"127.0.0.1:{jwt_app.port}",
        "FINANCE_TRACKER_MTLS_ADDRESS": f"127.0.0.1:{mtls_app.port}",
        "FINANCE_TRACKER_CREDENTIALS": str(dev_credentials.ca.parent),
        "FINANCE_TRACKER_TOKENS": json.dumps({"subject": subject, "tokens": tokens}),
        "FINANCE_TRACKER_CLIENT_ID": DEV_CLIENT_ID,
    }
    # In a thread: the server answers on this test's event loop.
    result = await asyncio.to_thread(run, [NPM, "test"], cwd=SDK, timeout=120, env=env)
    assert result.returncode == 0, output(result)
    passed = re.search(r"^# pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed is not None, output(result)
    assert int(passed.group(1)) > 0, f"no Node test ran\n{output(result)}"
    for line in ("# fail 0", "# skipped 0"):
        assert line in result.stdout.splitlines(), output(result)
