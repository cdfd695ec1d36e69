"""Settings: defaults that work with no configuration, environment and .env overrides."""

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_defaults_need_no_configuration(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.address == "0.0.0.0:50051"
    assert settings.database_url is None
    assert settings.data_dir.name == "finance-tracker"
    assert settings.db_prepared_statements


def test_prepared_statements_are_turned_off_for_a_pooler(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FINANCE_TRACKER_DB_PREPARED_STATEMENTS", "false")
    assert not Settings().db_prepared_statements


def test_reads_prefixed_environment_and_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FINANCE_TRACKER_PORT=6000\nFINANCE_TRACKER_LOG_FORMAT=json\n")
    monkeypatch.setenv("FINANCE_TRACKER_PORT", "7000")
    settings = Settings()
    assert settings.port == 7000  # the environment wins over .env
    assert settings.log_format == "json"


def test_accepts_unix_socket_database_urls(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    url = "postgresql://postgres@/finance?host=/run/postgresql"
    monkeypatch.setenv("FINANCE_TRACKER_DATABASE_URL", url)
    assert Settings().database_url == url


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FINANCE_TRACKER_PORT", "70000"),
        ("FINANCE_TRACKER_LOG_FORMAT", "xml"),
        ("FINANCE_TRACKER_DATABASE_URL", "mysql://x/y"),
        ("FINANCE_TRACKER_DB_POOL_MAX_SIZE", "0"),
    ],
)
def test_rejects_bad_values(monkeypatch, tmp_path, variable, value):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()


def test_rejects_unknown_prefixed_keys_in_dotenv(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("FINANCE_TRACKER_PROT=6000\n")
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("prot",), "extra_forbidden")
    ]


def test_dotenv_may_hold_keys_of_other_tools(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OTHER_TOOL_TOKEN=x\nFINANCE_TRACKER_PORT=6000\n")
    monkeypatch.setenv("FINANCE_TRACKER_TEST_DATABASE_URL", "postgresql://elsewhere/db")
    assert Settings().port == 6000


def test_pool_min_size_must_not_exceed_max_size(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as caught:
        Settings(db_pool_min_size=5, db_pool_max_size=2)
    assert (
        "FINANCE_TRACKER_DB_POOL_MIN_SIZE (5) must not be greater than"
        " FINANCE_TRACKER_DB_POOL_MAX_SIZE (2)"
    ) in str(caught.value)
