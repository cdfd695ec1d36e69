"""The server as outside tools see it: reflection via the real grpcurl binary, and the CLI."""

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import with_database

BIN = Path(sys.executable).parent


async def grpcurl(
    port: int, *positional: str, data: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `grpcurl -plaintext [-d data] address positional...` against the test server, in a
    thread because the server shares this event loop."""
    flags = ["-plaintext", *(["-d", data] if data is not None else [])]
    return await asyncio.to_thread(
        subprocess.run,
        [str(BIN / "grpcurl"), *flags, f"127.0.0.1:{port}", *positional],
        capture_output=True,
        text=True,
        timeout=30,
    )


class TestGrpcurl:
    async def test_lists_services_through_reflection(self, app):
        result = await grpcurl(app.port, "list")
        assert result.returncode == 0, result.stderr
        assert set(result.stdout.split()) >= {
            "finance.v1.UserService",
            "finance.v1.AccountService",
            "grpc.health.v1.Health",
        }

    async def test_describes_a_service_without_proto_files(self, app):
        result = await grpcurl(app.port, "describe", "finance.v1.AccountService")
        assert result.returncode == 0, result.stderr
        assert "rpc CreateAccount" in result.stdout

    async def test_creates_a_user_and_an_account(self, app):
        made = await grpcurl(
            app.port, "finance.v1.UserService/CreateUser", data='{"user": {"display_name": "G"}}'
        )
        assert made.returncode == 0, made.stderr
        user = json.loads(made.stdout)
        request = {
            "parent": user["name"],
            "account": {
                "display_name": "Wallet",
                "type": "TYPE_ASSET",
                "currency_code": "USD",
                "opening_balance": {"units": "20", "nanos": 500000000},
            },
        }
        made = await grpcurl(
            app.port, "finance.v1.AccountService/CreateAccount", data=json.dumps(request)
        )
        assert made.returncode == 0, made.stderr
        account = json.loads(made.stdout)
        balance = account["balance"]
        assert (balance["units"], balance["nanos"]) == ("20", 500000000)

    async def test_shows_field_violations_of_a_bad_request(self, app):
        result = await grpcurl(
            app.port, "finance.v1.UserService/CreateUser", data='{"user": {"display_name": ""}}'
        )
        assert result.returncode != 0
        assert "InvalidArgument" in result.stderr
        assert "google.rpc.BadRequest" in result.stderr
        assert '"field":"user.display_name"' in result.stderr.replace(" ", "")


class TestCommandLine:
    def test_bad_setting_is_named_in_a_clear_message(self):
        env = {**os.environ, "FINANCE_TRACKER_PORT": "not-a-port"}
        result = subprocess.run(
            [str(BIN / "finance-tracker"), "serve"],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        assert result.returncode != 0
        assert "FINANCE_TRACKER_PORT" in result.stderr
        assert "Traceback" not in result.stderr

    @pytest.mark.parametrize("url", ["mysql://localhost/db", "not a url"])
    def test_database_url_must_be_postgresql(self, url):
        env = {**os.environ, "FINANCE_TRACKER_DATABASE_URL": url}
        result = subprocess.run(
            [str(BIN / "finance-tracker"), "migrate"],
            capture_output=True,
            text=True,
            timeout=30,
            env=env,
        )
        assert result.returncode != 0
        assert "FINANCE_TRACKER_DATABASE_URL" in result.stderr


def finance_tracker(*args: str, cwd: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `finance-tracker` command in `cwd` with extra environment variables."""
    return subprocess.run(
        [str(BIN / "finance-tracker"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, **variables},
    )


# Where a command that got past its configuration by mistake finds no database, and fails fast.
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/none"


class TestStartupErrors:
    @pytest.mark.parametrize(
        ("url", "expected"),
        [
            (UNREACHABLE, "finance-tracker: cannot migrate: cannot connect to the database:"),
            (None, 'finance-tracker: cannot migrate: database "no_such_database" does not exist'),
        ],
    )
    def test_database_problems_are_one_clear_line(self, tmp_path, server_url, url, expected):
        url = url or with_database(server_url, "no_such_database")
        result = finance_tracker("migrate", cwd=tmp_path, FINANCE_TRACKER_DATABASE_URL=url)
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1].startswith(expected), result.stderr
        assert "Traceback" not in result.stderr

    def test_pool_sizes_are_checked_against_each_other(self, tmp_path):
        result = finance_tracker(
            "migrate",
            cwd=tmp_path,
            FINANCE_TRACKER_DATABASE_URL=UNREACHABLE,
            FINANCE_TRACKER_DB_POOL_MIN_SIZE="5",
            FINANCE_TRACKER_DB_POOL_MAX_SIZE="2",
        )
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == (
            "  FINANCE_TRACKER_DB_POOL_MIN_SIZE (5) must not be greater than"
            " FINANCE_TRACKER_DB_POOL_MAX_SIZE (2)"
        )

    def test_a_typo_in_dotenv_is_named(self, tmp_path):
        (tmp_path / ".env").write_text("OTHER_TOOL=1\nFINANCE_TRACKER_PROT=6000\n")
        result = finance_tracker("migrate", cwd=tmp_path, FINANCE_TRACKER_DATABASE_URL=UNREACHABLE)
        assert result.returncode == 1
        assert result.stderr.splitlines()[-1] == (
            "  FINANCE_TRACKER_PROT: is not a setting of finance-tracker (a typo in .env?)"
        )


class TestHealthCommand:
    async def test_asks_the_configured_port_by_default(self, app, tmp_path):
        result = await asyncio.to_thread(
            finance_tracker, "health", cwd=tmp_path, FINANCE_TRACKER_PORT=str(app.port)
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"127.0.0.1:{app.port}: SERVING"


class TestPortClash:
    async def test_a_second_server_on_the_same_port_fails_to_start(
        self, app, database, database_url
    ):
        from service.server import build_app
        from tests.conftest import make_settings

        with pytest.raises(OSError, match="cannot listen"):
            build_app(make_settings(database_url, port=app.port), database)

    async def test_reuse_port_lets_processes_share_it(self, app, database, database_url):
        from service.server import build_app
        from tests.conftest import make_settings

        first = build_app(make_settings(database_url, reuse_port=True), database)
        second = build_app(make_settings(database_url, port=first.port, reuse_port=True), database)
        assert second.port == first.port
        await first.server.stop(None)
        await second.server.stop(None)
