"""Settings: defaults that work with no configuration, environment and .env overrides."""

import pytest
from pydantic import ValidationError

from service.api.pagination import MAX_PAGE_BYTES
from service.settings import MIB, Settings


def test_defaults_need_no_configuration(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    # Without authentication the server is reachable from this machine only.
    assert (settings.auth, settings.address) == ("none", "127.0.0.1:50051")
    assert settings.database_url is None
    assert settings.data_dir.name == "finance-tracker"
    assert settings.metrics_port is None  # no metrics endpoint
    assert settings.otlp_endpoint is None  # no traces
    assert settings.db_prepared_statements
    assert settings.max_concurrent_rpcs == 100
    assert settings.rate_limit_per_second is None  # no rate limit
    assert settings.max_receive_message_bytes == settings.max_send_message_bytes == 4 * MIB


def test_binds_every_interface_once_callers_are_authenticated(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    for name, value in {
        "AUTH": "jwt",
        "JWT_ISSUER": "https://issuer.test",
        "JWT_AUDIENCE": "finance-tracker",
        "JWT_JWKS_FILE": str(jwks),
    }.items():
        monkeypatch.setenv(f"FINANCE_TRACKER_{name}", value)
    assert Settings().address == "0.0.0.0:50051"
    monkeypatch.setenv("FINANCE_TRACKER_HOST", "10.0.0.5")
    assert Settings().address == "10.0.0.5:50051"


def test_an_explicit_host_is_kept_without_authentication(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FINANCE_TRACKER_HOST", "0.0.0.0")
    assert Settings().address == "0.0.0.0:50051"


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"AUTH": "mtls"}, "TLS_CLIENT_CA_FILE"),
        ({"AUTH": "jwt", "JWT_JWKS_FILE": "/k.json"}, "JWT_ISSUER"),
        ({"AUTH": "jwt", "JWT_ISSUER": "i", "JWT_AUDIENCE": "a"}, "JWT_JWKS_FILE"),
        ({"TLS_CERT_FILE": "/c.pem"}, "TLS_KEY_FILE"),
        ({"TLS_CLIENT_CA_FILE": "/ca.pem"}, "TLS_CERT_FILE"),
        ({"JWT_ALGORITHMS": '["RS256", "HS256"]'}, "HS256"),
        ({"JWT_ALGORITHMS": '["none"]'}, "none"),
    ],
)
def test_refuses_incomplete_or_unsafe_authentication(monkeypatch, tmp_path, values, named):
    monkeypatch.chdir(tmp_path)
    for name, value in values.items():
        monkeypatch.setenv(f"FINANCE_TRACKER_{name}", value)
    with pytest.raises(ValidationError, match=named):
        Settings()


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
        ("FINANCE_TRACKER_METRICS_PORT", "-1"),
        ("FINANCE_TRACKER_OTLP_ENDPOINT", "collector:4317"),
        ("FINANCE_TRACKER_OTLP_ENDPOINT", "grpc://collector:4317"),
        ("FINANCE_TRACKER_MAX_CONCURRENT_RPCS", "-1"),
        ("FINANCE_TRACKER_RATE_LIMIT_PER_SECOND", "0"),
        ("FINANCE_TRACKER_RATE_LIMIT_BURST", "0"),
        ("FINANCE_TRACKER_MAX_RECEIVE_MESSAGE_BYTES", str(MIB - 1)),
        # A List page holds up to 3 MiB of items, and a response more than that.
        ("FINANCE_TRACKER_MAX_SEND_MESSAGE_BYTES", str(4 * MIB - 1)),
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


def test_metrics_need_a_port_of_their_own(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError) as caught:
        Settings(port=9000, metrics_port=9000)
    assert "FINANCE_TRACKER_METRICS_PORT (9000) must not be FINANCE_TRACKER_PORT" in str(
        caught.value
    )
    assert Settings(port=0, metrics_port=0).metrics_port == 0  # two free ports


def test_empty_otlp_endpoint_means_no_traces(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FINANCE_TRACKER_OTLP_ENDPOINT", "")
    assert Settings().otlp_endpoint is None


def test_a_burst_needs_a_rate(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FINANCE_TRACKER_RATE_LIMIT_BURST", "10")
    with pytest.raises(ValidationError, match=r"RATE_LIMIT_BURST needs \w*RATE_LIMIT_PER_SECOND"):
        Settings()
    monkeypatch.setenv("FINANCE_TRACKER_RATE_LIMIT_PER_SECOND", "2.5")
    assert (Settings().rate_limit_per_second, Settings().rate_limit_burst) == (2.5, 10)


def test_the_send_limit_leaves_room_beyond_a_full_page(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError, match="max_send_message_bytes"):
        Settings(max_send_message_bytes=MAX_PAGE_BYTES + 512 * 1024)
