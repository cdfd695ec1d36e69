"""Authentication over real channels: bearer tokens (JWT) with every way a token can be
wrong, client certificates (mutual TLS) refused at the handshake unless issued by the
client CA and current, and the unauthenticated development mode."""

import base64
import datetime
import hashlib
import hmac
import http.server
import json
import logging
import socket
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import audit_service_pb2_grpc as aupb_grpc
from finance.v1 import user_service_pb2 as upb
from finance.v1 import user_service_pb2_grpc as upb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from service.api.authentication import KeySet
from service.server import App, build_app
from tests.authorization import channel_as, jwt_server, jwt_settings
from tests.conftest import make_settings
from tests.credentials import Authority, SigningKeys
from tests.helpers import rpc_error, wait_for_status

UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def _create_user() -> upb.CreateUserRequest:
    return upb.CreateUserRequest(user=upb.User(display_name="Token holder"))


@pytest.fixture(scope="module")
def keys() -> SigningKeys:
    signing = SigningKeys()
    signing.add_key()
    return signing


@pytest.fixture(scope="module")
def jwks_dir(tmp_path_factory) -> Path:
    directory: Path = tmp_path_factory.mktemp("jwks")
    return directory


@pytest.fixture(scope="module")
async def jwt_app(database, database_url, keys, jwks_dir) -> AsyncIterator[App]:
    async with jwt_server(database, database_url, keys, jwks_dir) as app:
        yield app


async def _create_with(app: App, token: str) -> upb.User:
    async with channel_as(app, token) as channel:
        return await upb_grpc.UserServiceStub(channel).CreateUser(_create_user())


async def _refused(app: App, token: str, reason: str) -> None:
    async with channel_as(app, token) as channel:
        error = await rpc_error(
            upb_grpc.UserServiceStub(channel).CreateUser(_create_user()), UNAUTHENTICATED
        )
    assert reason in (error.details() or "")


class TestBearerTokens:
    async def test_a_valid_token_names_the_principal_in_the_audit_trail(self, jwt_app, keys):
        subject = f"person-{uuid.uuid4()}"
        async with channel_as(jwt_app, keys.token(subject)) as channel:
            user = await upb_grpc.UserServiceStub(channel).CreateUser(
                _create_user(), metadata=(("x-actor", "signup-form"),)
            )
            events = await aupb_grpc.AuditServiceStub(channel).ListAuditEvents(
                aupb.ListAuditEventsRequest(parent=user.name)
            )
        created = [e for e in events.audit_events if e.resource == user.name]
        assert [(e.actor, e.actor_service, e.actor_note) for e in created] == [
            (subject, "", "signup-form")
        ]

    async def test_a_call_without_a_token_is_unauthenticated(self, jwt_app):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{jwt_app.port}") as channel:
            error = await rpc_error(
                upb_grpc.UserServiceStub(channel).CreateUser(_create_user()), UNAUTHENTICATED
            )
        assert "bearer token is required" in (error.details() or "")

    async def test_another_scheme_is_unauthenticated(self, jwt_app, keys):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{jwt_app.port}") as channel:
            await rpc_error(
                upb_grpc.UserServiceStub(channel).CreateUser(
                    _create_user(), metadata=(("authorization", f"Basic {keys.token('x')}"),)
                ),
                UNAUTHENTICATED,
            )

    @pytest.mark.parametrize(
        ("claims", "reason"),
        [
            ({"lifetime": datetime.timedelta(minutes=-5)}, "expired"),
            ({"not_before": datetime.timedelta(minutes=5)}, "not valid yet"),
            ({"aud": "another-service"}, "another audience"),
            ({"iss": "https://elsewhere.test"}, "another issuer"),
        ],
    )
    async def test_a_token_with_a_wrong_claim_is_refused(self, jwt_app, keys, claims, reason):
        await _refused(jwt_app, keys.token("someone", **claims), reason)

    async def test_expiry_and_not_before_allow_the_configured_clock_skew(self, jwt_app, keys):
        # The leeway is 30 s: a token expired 10 s ago, or valid in 10 s, is still taken.
        for claims in (
            {"lifetime": datetime.timedelta(seconds=-10)},
            {"not_before": datetime.timedelta(seconds=10)},
        ):
            await _create_with(jwt_app, keys.token(f"skewed-{uuid.uuid4()}", **claims))

    async def test_a_token_without_a_subject_is_refused(self, jwt_app, keys):
        await _refused(jwt_app, keys.token(None), "'sub'")

    async def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(self, jwt_app, keys):
        impostor = SigningKeys(issuer=keys.issuer, audience=keys.audience)
        kid = impostor.add_key()
        forged = impostor.token("someone", kid=kid)
        _, payload, signature = forged.split(".")
        known = next(iter(keys.keys))
        forged_header = jwt.utils.base64url_encode(
            json.dumps({"alg": "RS256", "typ": "JWT", "kid": known}).encode()
        ).decode()
        await _refused(jwt_app, f"{forged_header}.{payload}.{signature}", "signature")

    async def test_an_unsigned_token_is_refused(self, jwt_app, keys):
        unsigned = jwt.encode(
            {"sub": "someone", "iss": keys.issuer, "aud": keys.audience, "exp": 2**33},
            key="",
            algorithm="none",
            headers={"kid": next(iter(keys.keys))},
        )
        await _refused(jwt_app, unsigned, "algorithm 'none' is not accepted")

    async def test_a_token_signed_with_the_public_key_as_an_hmac_secret_is_refused(
        self, jwt_app, keys
    ):
        kid, private = next(iter(keys.keys.items()))
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        payload = {"sub": "someone", "iss": keys.issuer, "aud": keys.audience, "exp": 2**33}

        # PyJWT refuses to sign with a PEM as an HMAC secret, so sign by hand.
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        signing_input = (
            b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
            + "."
            + b64(json.dumps(payload).encode())
        )
        mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
        await _refused(jwt_app, f"{signing_input}.{b64(mac)}", "algorithm 'HS256'")

    async def test_garbage_is_refused(self, jwt_app):
        await _refused(jwt_app, "not-a-token", "not a JWT")

    async def test_a_rotated_key_is_picked_up_when_a_token_names_it(self, jwt_app, keys, jwks_dir):
        kid = keys.add_key()
        keys.write_jwks(jwks_dir / "jwks.json")
        await _create_with(jwt_app, keys.token(f"rotated-{uuid.uuid4()}", kid=kid))

    async def test_a_token_of_an_unknown_key_is_refused(self, jwt_app, keys):
        stranger = SigningKeys(issuer=keys.issuer, audience=keys.audience)
        kid = stranger.add_key()
        await _refused(jwt_app, stranger.token("someone", kid=kid), "unknown key")

    async def test_health_needs_no_token(self, jwt_app):
        # Answered without a token (a refusal would raise UNAUTHENTICATED here); SERVING once
        # the server's first database ping is in.
        async with grpc.aio.insecure_channel(f"127.0.0.1:{jwt_app.port}") as channel:
            await wait_for_status(
                health_pb2_grpc.HealthStub(channel), health_pb2.HealthCheckResponse.SERVING
            )


class TestKeySet:
    async def test_an_unknown_kid_reloads_at_most_once_per_interval(self):
        now = [0.0]
        loads = []

        def load() -> dict[str, Any]:
            loads.append(now[0])
            return {"keys": []}

        keys = KeySet(load, min_refresh_seconds=30, clock=lambda: now[0])
        assert await keys.key("a") is None
        assert await keys.key("b") is None  # within 30 s of the last load: not reloaded
        now[0] = 29.9
        assert await keys.key("c") is None
        now[0] = 30.0
        assert await keys.key("d") is None
        assert loads == [0.0, 30.0]


class TestReflection:
    async def _services(self, app: App) -> list[str] | grpc.StatusCode:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{app.port}") as channel:
            info = channel.stream_stream(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
            )
            try:
                async for reply in info(
                    iter([reflection_pb2.ServerReflectionRequest(list_services="")])
                ):
                    return [s.name for s in reply.list_services_response.service]
            except grpc.aio.AioRpcError as error:
                return error.code()
        return []

    async def test_reflection_can_be_turned_off(self, database, database_url):
        for enabled in (True, False):
            app = build_app(make_settings(database_url, reflection=enabled), database)
            await app.start()
            try:
                found = await self._services(app)
            finally:
                await app.stop(grace=0)
            if enabled:
                assert isinstance(found, list)
                assert "finance.v1.MemberService" in found
            else:
                assert found == grpc.StatusCode.UNIMPLEMENTED


class TestWithoutAuthentication:
    def test_warns_that_every_caller_may_do_anything(self, database, database_url, caplog):
        with caplog.at_level(logging.WARNING, logger="service.server"):
            build_app(make_settings(database_url), database)
        assert any("authentication is off" in r.getMessage() for r in caplog.records)

    def test_says_nothing_of_the_sort_when_callers_authenticate(
        self, database, database_url, keys, jwks_dir, caplog
    ):
        settings = make_settings(
            database_url, **jwt_settings(keys, jwt_jwks_file=keys.write_jwks(jwks_dir / "q.json"))
        )
        with caplog.at_level(logging.WARNING, logger="service.server"):
            build_app(settings, database)
        assert not any("authentication is off" in r.getMessage() for r in caplog.records)


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority("finance-tracker test CA")


@pytest.fixture(scope="module")
async def mtls_app(database, database_url, authority, tmp_path_factory) -> AsyncIterator[App]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = authority.issue("localhost", dns=("localhost",), ips=("127.0.0.1",)).write(
        directory, "server"
    )
    ca = directory / "ca.crt"
    ca.write_bytes(authority.pem)
    app = build_app(
        make_settings(
            database_url,
            auth="mtls",
            tls_cert_file=cert,
            tls_key_file=key,
            tls_client_ca_file=ca,
            admin_identities=["spiffe://test.local/back-office"],
        ),
        database,
    )
    await app.start()
    yield app
    await app.stop(grace=1)


def _tls_channel(app: App, authority: Authority, client: Any = None) -> grpc.aio.Channel:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=authority.pem,
        private_key=None if client is None else client.key,
        certificate_chain=None if client is None else client.certificate,
    )
    return grpc.aio.secure_channel(f"localhost:{app.port}", credentials)


class TestMutualTls:
    async def test_the_certificates_uri_is_the_principal(self, mtls_app, authority):
        uri = f"spiffe://test.local/{uuid.uuid4()}"
        client = authority.issue("billing", uris=(uri,))
        async with _tls_channel(mtls_app, authority, client) as channel:
            user = await upb_grpc.UserServiceStub(channel).CreateUser(_create_user())
            events = await aupb_grpc.AuditServiceStub(channel).ListAuditEvents(
                aupb.ListAuditEventsRequest(parent=user.name)
            )
        assert {(e.actor, e.actor_service) for e in events.audit_events} == {(uri, uri)}

    async def test_without_a_uri_the_subject_is_the_principal(self, mtls_app, authority):
        name = f"reports-{uuid.uuid4().hex[:8]}"
        async with _tls_channel(mtls_app, authority, authority.issue(name)) as channel:
            user = await upb_grpc.UserServiceStub(channel).CreateUser(_create_user())
            events = await aupb_grpc.AuditServiceStub(channel).ListAuditEvents(
                aupb.ListAuditEventsRequest(parent=user.name)
            )
        assert {e.actor for e in events.audit_events} == {f"CN={name}"}

    async def test_a_listed_identity_is_an_administrator(self, mtls_app, authority):
        owner = authority.issue("owner", uris=(f"spiffe://test.local/{uuid.uuid4()}",))
        async with _tls_channel(mtls_app, authority, owner) as channel:
            user = await upb_grpc.UserServiceStub(channel).CreateUser(_create_user())
        stranger = authority.issue("stranger", uris=("spiffe://test.local/stranger",))
        async with _tls_channel(mtls_app, authority, stranger) as channel:
            await rpc_error(
                upb_grpc.UserServiceStub(channel).GetUser(upb.GetUserRequest(name=user.name)),
                grpc.StatusCode.NOT_FOUND,
            )
        admin = authority.issue("admin", uris=("spiffe://test.local/back-office",))
        async with _tls_channel(mtls_app, authority, admin) as channel:
            found = await upb_grpc.UserServiceStub(channel).GetUser(
                upb.GetUserRequest(name=user.name)
            )
        assert found.name == user.name

    @pytest.mark.parametrize("client", ["none", "other CA", "expired"])
    async def test_a_client_without_a_current_certificate_of_the_ca_is_refused(
        self, mtls_app, authority, client
    ):
        issued = {
            "none": None,
            "other CA": Authority("another CA").issue("billing", uris=("spiffe://x/billing",)),
            "expired": authority.issue("billing", uris=("spiffe://x/b",), expired=True),
        }[client]
        async with _tls_channel(mtls_app, authority, issued) as channel:
            # Refused at the handshake: no RPC ever reaches the server.
            await rpc_error(
                upb_grpc.UserServiceStub(channel).CreateUser(_create_user(), timeout=10),
                grpc.StatusCode.UNAVAILABLE,
            )

    async def test_a_plaintext_client_is_refused(self, mtls_app):
        async with grpc.aio.insecure_channel(f"127.0.0.1:{mtls_app.port}") as channel:
            await rpc_error(
                upb_grpc.UserServiceStub(channel).CreateUser(_create_user(), timeout=10),
                grpc.StatusCode.UNAVAILABLE,
            )


class TestKeysFromAUrl:
    async def test_keys_are_fetched_once_and_again_for_a_new_kid(
        self, database, database_url, keys
    ):
        served: list[str] = []

        class Jwks(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                served.append(self.path)
                body = json.dumps(keys.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        app = build_app(
            make_settings(
                database_url,
                **jwt_settings(
                    keys,
                    jwt_jwks_url=f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json",
                    jwks_refresh_seconds=0,
                ),
            ),
            database,
        )
        await app.start()
        try:
            first = next(iter(keys.keys))
            await _create_with(app, keys.token(f"url-{uuid.uuid4()}", kid=first))
            await _create_with(app, keys.token(f"url-{uuid.uuid4()}", kid=first))
            assert served == ["/jwks.json"]  # cached: one fetch for two tokens
            rotated = keys.add_key()
            await _create_with(app, keys.token(f"url-{uuid.uuid4()}", kid=rotated))
            assert served == ["/jwks.json", "/jwks.json"]
        finally:
            await app.stop(grace=0)
            httpd.shutdown()
            thread.join()

    async def test_an_unreachable_key_server_is_unavailable_not_unauthenticated(
        self, database, database_url, keys
    ):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed_port = probe.getsockname()[1]
        app = build_app(
            make_settings(
                database_url,
                **jwt_settings(keys, jwt_jwks_url=f"http://127.0.0.1:{closed_port}/jwks.json"),
            ),
            database,
        )
        await app.start()
        try:
            async with channel_as(app, keys.token("someone")) as channel:
                await rpc_error(
                    upb_grpc.UserServiceStub(channel).CreateUser(_create_user()),
                    grpc.StatusCode.UNAVAILABLE,
                )
        finally:
            await app.stop(grace=0)
