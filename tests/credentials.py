"""Credentials made in the tests: certificate authorities, server and client certificates,
and JWKS signing keys with the tokens they sign. Nothing here is fixed data: every run makes
its own, with the code of the development credentials tool (tools/dev_credentials.py)."""

from tools.dev_credentials import Authority, Issued, SigningKeys

__all__ = ["Authority", "Issued", "SigningKeys"]
