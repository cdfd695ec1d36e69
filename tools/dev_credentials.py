#!/usr/bin/env python3
"""Development credentials: a CA, server and client certificates, a JWKS and tokens.

`uv run tools/dev_credentials.py DIR [--subject SUB] [--admin]` writes into DIR, unless they
are there already, ca.crt, server.crt/.key (for localhost and 127.0.0.1), client.crt/.key
(spiffe://finance-tracker.local/dev-client), jwt-signing.key and jwks.json (its public key);
then it prints a bearer token for SUB signed with DIR's key. Running it again keeps the files,
so a server started on them goes on accepting the new tokens. For development and tests only:
the keys are not encrypted. The tests import the classes below to make credentials of their own.
"""

import argparse
import datetime
import hashlib
import ipaddress
import json
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

DEV_ISSUER = "https://issuer.finance-tracker.local"
DEV_AUDIENCE = "finance-tracker"
DEV_CLIENT_ID = "spiffe://finance-tracker.local/dev-client"
ADMIN_SCOPE = "finance.admin"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Issued:
    """A certificate and its key, as PEM."""

    certificate: bytes
    key: bytes

    def write(self, directory: Path, name: str) -> tuple[Path, Path]:
        """Write both to `directory`; returns (certificate path, key path)."""
        cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
        cert_path.write_bytes(self.certificate)
        key_path.touch(mode=0o600)
        key_path.write_bytes(self.key)
        return cert_path, key_path


class Authority:
    """A certificate authority that issues server and client certificates, each valid for
    `days` days."""

    def __init__(self, name: str, *, days: int = 30) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._days = days
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._name = subject
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        """The CA certificate, as PEM."""
        return _pem(self.certificate)

    def issue(
        self,
        common_name: str,
        *,
        dns: tuple[str, ...] = (),
        ips: tuple[str, ...] = (),
        uris: tuple[str, ...] = (),
        expired: bool = False,
    ) -> Issued:
        """A certificate for `common_name` with the given subject alternative names; `expired`
        makes one whose validity ended yesterday."""
        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        names += [x509.UniformResourceIdentifier(u) for u in uris]
        end = _now() + datetime.timedelta(days=-1 if expired else self._days)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=2))
            .not_valid_after(end)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(_pem(builder.sign(self._key, hashes.SHA256())), _key_pem(key))


def key_id(key: rsa.RSAPrivateKey) -> str:
    """A key id derived from the public key, so that a key read back from a file keeps it."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()[:16]


@dataclass
class SigningKeys:
    """RSA keys published as a JWKS, and the tokens they sign."""

    issuer: str = "https://issuer.test"
    audience: str = "finance-tracker"
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)

    def add_key(self, key: rsa.RSAPrivateKey | None = None) -> str:
        """Add `key` (a new one by default) as a signing key; returns its kid."""
        if key is None:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            kid = uuid.uuid4().hex[:12]
        else:
            kid = key_id(key)
        self.keys[kid] = key
        return kid

    def jwks(self) -> dict[str, Any]:
        """The public keys, as a JWKS document."""
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            keys.append({**jwk, "kid": kid, "use": "sig", "alg": "RS256"})
        return {"keys": keys}

    def write_jwks(self, path: Path) -> Path:
        """Write the JWKS to `path`."""
        path.write_text(json.dumps(self.jwks()))
        return path

    def token(
        self,
        subject: str | None,
        *,
        kid: str | None = None,
        scope: str | None = None,
        lifetime: datetime.timedelta = datetime.timedelta(minutes=10),
        not_before: datetime.timedelta | None = None,
        **claims: Any,
    ) -> str:
        """A token for `subject` signed with key `kid` (the first one by default); other
        claims override the defaults."""
        kid = kid or next(iter(self.keys))
        now = _now()
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime,
            "jti": uuid.uuid4().hex,
        }
        if subject is not None:
            payload["sub"] = subject
        if scope is not None:
            payload["scope"] = scope
        if not_before is not None:
            payload["nbf"] = now + not_before
        payload.update(claims)
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})


@dataclass(frozen=True)
class DevFiles:
    """The files of a development credentials directory."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    signing_key: Path
    jwks: Path

    @classmethod
    def of(cls, directory: Path) -> "DevFiles":
        """The files' paths in `directory`."""
        return cls(
            ca=directory / "ca.crt",
            server_cert=directory / "server.crt",
            server_key=directory / "server.key",
            client_cert=directory / "client.crt",
            client_key=directory / "client.key",
            signing_key=directory / "jwt-signing.key",
            jwks=directory / "jwks.json",
        )

    def complete(self) -> bool:
        """Whether every file is there."""
        return all(path.is_file() for path in vars(self).values())


def write_dev_credentials(directory: Path) -> DevFiles:
    """Write a fresh set of development credentials into `directory` (made if missing)."""
    files = DevFiles.of(directory)
    directory.mkdir(parents=True, exist_ok=True)
    authority = Authority("finance-tracker development CA", days=365)
    files.ca.write_bytes(authority.pem)
    server = authority.issue("localhost", dns=("localhost",), ips=("127.0.0.1", "::1"))
    server.write(directory, "server")
    authority.issue("dev-client", uris=(DEV_CLIENT_ID,)).write(directory, "client")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files.signing_key.touch(mode=0o600)
    files.signing_key.write_bytes(_key_pem(key))
    keys = SigningKeys()
    keys.add_key(key)
    keys.write_jwks(files.jwks)
    return files


def dev_token(
    files: DevFiles,
    subject: str,
    *,
    issuer: str = DEV_ISSUER,
    audience: str = DEV_AUDIENCE,
    admin: bool = False,
    lifetime: datetime.timedelta = datetime.timedelta(hours=1),
) -> str:
    """A token for `subject` signed with the directory's key; `admin` adds the admin scope."""
    key = serialization.load_pem_private_key(files.signing_key.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"expected an RSA key in {files.signing_key}, got {type(key).__name__}")
    keys = SigningKeys(issuer=issuer, audience=audience)
    keys.add_key(key)
    scope = ADMIN_SCOPE if admin else None
    return keys.token(subject, scope=scope, lifetime=lifetime)


def main(argv: list[str] | None = None) -> int:
    """Write DIR's credentials unless they are there, then print a token."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path, help="where the credentials are (or go)")
    parser.add_argument("--subject", default="dev-user", help="the token's sub (dev-user)")
    parser.add_argument("--admin", action="store_true", help=f"add the {ADMIN_SCOPE} scope")
    parser.add_argument("--issuer", default=DEV_ISSUER, help=f"the token's iss ({DEV_ISSUER})")
    parser.add_argument("--audience", default=DEV_AUDIENCE, help=f"its aud ({DEV_AUDIENCE})")
    parser.add_argument("--minutes", type=int, default=60, help="its lifetime (60)")
    args = parser.parse_args(argv)
    files = DevFiles.of(args.directory)
    if not files.complete():
        write_dev_credentials(args.directory)
        sys.stderr.write(f"wrote development credentials to {args.directory}\n")
    token = dev_token(
        files,
        args.subject,
        issuer=args.issuer,
        audience=args.audience,
        admin=args.admin,
        lifetime=datetime.timedelta(minutes=args.minutes),
    )
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
