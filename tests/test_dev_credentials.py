"""tools/dev_credentials.py: the files it writes, the tokens it prints, and that the server
takes both as the README says."""

import ipaddress
import stat

import jwt
from cryptography import x509

from service.api.authentication import KeySet, TokenVerifier
from service.settings import Settings
from tools.dev_credentials import (
    ADMIN_SCOPE,
    DEV_AUDIENCE,
    DEV_CLIENT_ID,
    DEV_ISSUER,
    DevFiles,
    main,
)


def verifier(files: DevFiles) -> TokenVerifier:
    """The server's token check over the directory's JWKS, with the README's issuer and
    audience."""
    keys = KeySet.from_file(files.jwks, min_refresh_seconds=0)
    return TokenVerifier(
        keys, issuer=DEV_ISSUER, audience=DEV_AUDIENCE, algorithms=["RS256"], leeway=0
    )


def sans(path) -> x509.SubjectAlternativeName:
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    return certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


def run(capsys, *args: str) -> str:
    """What the tool prints on stdout."""
    assert main([*args]) == 0
    out: str = capsys.readouterr().out
    return out


class TestFiles:
    def test_writes_every_file_and_keeps_them_when_run_again(self, tmp_path, capsys):
        files = DevFiles.of(tmp_path / "dev")
        run(capsys, str(tmp_path / "dev"))
        assert files.complete()
        written = {path: path.read_bytes() for path in vars(files).values()}
        run(capsys, str(tmp_path / "dev"))
        assert {path: path.read_bytes() for path in written} == written

    def test_keys_are_readable_by_their_owner_only(self, tmp_path, capsys):
        files = DevFiles.of(tmp_path)
        run(capsys, str(tmp_path))
        for key in (files.server_key, files.client_key, files.signing_key):
            assert stat.S_IMODE(key.stat().st_mode) == 0o600, key

    def test_the_server_certificate_names_localhost_and_its_loopback_address(
        self, tmp_path, capsys
    ):
        run(capsys, str(tmp_path))
        names = sans(DevFiles.of(tmp_path).server_cert)
        assert names.get_values_for_type(x509.DNSName) == ["localhost"]
        assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)

    def test_the_client_certificate_names_the_dev_client(self, tmp_path, capsys):
        run(capsys, str(tmp_path))
        names = sans(DevFiles.of(tmp_path).client_cert)
        assert names.get_values_for_type(x509.UniformResourceIdentifier) == [DEV_CLIENT_ID]


class TestTokens:
    async def test_prints_a_token_the_server_accepts_for_the_subject(self, tmp_path, capsys):
        token = run(capsys, str(tmp_path), "--subject", "grace").strip()
        claims = await verifier(DevFiles.of(tmp_path)).verify(token)
        assert (claims["sub"], claims.get("scope")) == ("grace", None)
        assert claims["exp"] - claims["iat"] == 60 * 60

    async def test_admin_asks_for_the_scope_the_server_takes_as_admin(self, tmp_path, capsys):
        token = run(capsys, str(tmp_path), "--admin", "--minutes", "5").strip()
        claims = await verifier(DevFiles.of(tmp_path)).verify(token)
        assert claims["scope"] == ADMIN_SCOPE == Settings.model_fields["jwt_admin_scope"].default
        assert claims["exp"] - claims["iat"] == 5 * 60

    def test_each_run_prints_a_new_token_signed_by_the_same_key(self, tmp_path, capsys):
        first = run(capsys, str(tmp_path)).strip()
        second = run(capsys, str(tmp_path)).strip()
        assert first != second
        assert jwt.get_unverified_header(first)["kid"] == jwt.get_unverified_header(second)["kid"]

    def test_prints_the_token_alone_on_stdout(self, tmp_path, capsys):
        out = run(capsys, str(tmp_path))
        assert out.count("\n") == 1
        assert out.count(".") == 2  # header.payload.signature
