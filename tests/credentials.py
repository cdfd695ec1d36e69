"""Credentials made in the tests: certificate authorities, server and client certificates,
and JWKS signing keys with the tokens they sign. Nothing here is fixed data: every run makes
its own."""

import datetime
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
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
        key_path.write_bytes(self.key)
        return cert_path, key_path


class Authority:
    """A certificate authority that issues server and client certificates."""

    def __init__(self, name: str) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._name = subject
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=1))
            .not_valid_after(NOW + datetime.timedelta(days=30))
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
        import ipaddress

        key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
        names += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
        names += [x509.UniformResourceIdentifier(u) for u in uris]
        end = NOW - datetime.timedelta(days=1) if expired else NOW + datetime.timedelta(days=30)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(NOW - datetime.timedelta(days=2))
            .not_valid_after(end)
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return Issued(_pem(builder.sign(self._key, hashes.SHA256())), _key_pem(key))


@dataclass
class SigningKeys:
    """RSA keys published as a JWKS, and the tokens they sign."""

    issuer: str = "https://issuer.test"
    audience: str = "finance-tracker"
    keys: dict[str, rsa.RSAPrivateKey] = field(default_factory=dict)

    def add_key(self) -> str:
        """A new signing key; returns its kid."""
        kid = uuid.uuid4().hex[:12]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
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
        now = datetime.datetime.now(datetime.UTC)
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + lifetime,
        }
        if subject is not None:
            payload["sub"] = subject
        if scope is not None:
            payload["scope"] = scope
        if not_before is not None:
            payload["nbf"] = now + not_before
        payload.update(claims)
        return jwt.encode(payload, self.keys[kid], algorithm="RS256", headers={"kid": kid})
