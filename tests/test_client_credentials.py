"""The Python client's credentials against live servers that authenticate: bearer tokens (fixed
or from a provider asked before every call) over TLS, and client certificates (mutual TLS)."""

import asyncio
import uuid

import grpc
import pytest
from finance.v1 import audit_service_pb2 as aupb
from finance.v1 import member_service_pb2 as mpb
from finance.v1 import user_service_pb2 as upb
from finance_tracker_client import (
    AsyncFinanceClient,
    FinanceClient,
    NotFoundError,
    PermissionDeniedError,
    Tls,
    UnauthenticatedError,
    UnavailableError,
)
from google.protobuf import field_mask_pb2

from tests.conftest import jwt_overrides, make_settings, serving
from tools.dev_credentials import DEV_CLIENT_ID, DevFiles, dev_token


def subject() -> str:
    """A principal of the test's own: the run's database is shared by every test."""
    return f"person-{uuid.uuid4().hex[:12]}"


def new_user() -> upb.CreateUserRequest:
    return upb.CreateUserRequest(user=upb.User(display_name="Credentials"))


async def audit_actors(client: AsyncFinanceClient, user: str) -> set[tuple[str, str]]:
    """(actor, actor_service) of every audit event of `user`."""
    events = await client.audit.list_audit_events(aupb.ListAuditEventsRequest(parent=user))
    return {(event.actor, event.actor_service) for event in events.audit_events}


class TokenFeed:
    """A token provider that hands out a token of the current `subject`, fresh each time,
    and counts how often it was asked."""

    def __init__(self, files: DevFiles, subject: str) -> None:
        self.files = files
        self.subject = subject
        self.issued: list[str] = []

    async def __call__(self) -> str:
        self.issued.append(dev_token(self.files, self.subject))
        return self.issued[-1]


@pytest.fixture
def address(jwt_app) -> str:
    return f"127.0.0.1:{jwt_app.port}"


@pytest.fixture
def server_ca(dev_credentials) -> Tls:
    return Tls(ca=dev_credentials.ca)


class TestBearerTokens:
    async def test_a_token_calls_as_its_subject_who_owns_the_user_it_creates(
        self, address, server_ca, dev_credentials
    ):
        me = subject()
        token = dev_token(dev_credentials, me)
        async with AsyncFinanceClient(address, tls=server_ca, token=token) as client:
            user = await client.users.create_user(new_user())
            members = await client.members.list_members(mpb.ListMembersRequest(parent=user.name))
            assert await audit_actors(client, user.name) == {(me, "")}
        assert [(m.principal, m.role) for m in members.members] == [(me, mpb.Member.ROLE_OWNER)]

    async def test_a_call_without_a_token_is_unauthenticated(self, address, server_ca):
        async with AsyncFinanceClient(address, tls=server_ca) as client:
            with pytest.raises(UnauthenticatedError, match="bearer token is required"):
                await client.users.create_user(new_user())

    async def test_the_provider_is_asked_before_every_call(
        self, address, server_ca, dev_credentials
    ):
        feed = TokenFeed(dev_credentials, subject())
        async with AsyncFinanceClient(address, tls=server_ca, token_provider=feed) as client:
            user = await client.users.create_user(new_user())
            for _ in range(2):
                await client.users.get_user(upb.GetUserRequest(name=user.name))
        assert len(feed.issued) == len(set(feed.issued)) == 3

    async def test_a_renewed_token_acts_for_whom_it_names(
        self, address, server_ca, dev_credentials
    ):
        owner, viewer = subject(), subject()
        feed = TokenFeed(dev_credentials, owner)
        async with AsyncFinanceClient(address, tls=server_ca, token_provider=feed) as client:
            user = await client.users.create_user(new_user())
            member = mpb.Member(principal=viewer, role=mpb.Member.ROLE_VIEWER)
            await client.members.create_member(
                mpb.CreateMemberRequest(parent=user.name, member=member)
            )
            feed.subject = viewer
            read = await client.users.get_user(upb.GetUserRequest(name=user.name))
            update = upb.UpdateUserRequest(
                user=upb.User(name=user.name, display_name="Renamed"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            )
            with pytest.raises(PermissionDeniedError):
                await client.users.update_user(update)
        assert read.name == user.name

    async def test_a_plain_function_is_a_provider_too(self, address, server_ca, dev_credentials):
        me = subject()
        async with AsyncFinanceClient(
            address, tls=server_ca, token_provider=lambda: dev_token(dev_credentials, me)
        ) as client:
            user = await client.users.create_user(new_user())
            assert await audit_actors(client, user.name) == {(me, "")}

    async def test_a_call_may_send_its_own_authorization(self, address, server_ca, dev_credentials):
        first, second = subject(), subject()
        async with AsyncFinanceClient(
            address, tls=server_ca, token=dev_token(dev_credentials, first)
        ) as client:
            user = await client.users.create_user(new_user())
            own = (("authorization", f"Bearer {dev_token(dev_credentials, second)}"),)
            with pytest.raises(NotFoundError):
                await client.users.get_user(upb.GetUserRequest(name=user.name), metadata=own)

    async def test_the_sync_client_sends_a_fresh_token_each_call(self, address, dev_credentials):
        me, issued = subject(), []

        def provider() -> str:
            issued.append(dev_token(dev_credentials, me))
            return issued[-1]

        def calls() -> str:
            tls = Tls(ca=dev_credentials.ca.read_bytes())  # PEM data, not a path
            with FinanceClient(address, tls=tls, token_provider=provider) as client:
                user = client.users.create_user(new_user())
                return client.users.get_user(upb.GetUserRequest(name=user.name)).name

        # In a thread: the server answers on this test's event loop.
        assert (await asyncio.to_thread(calls)).startswith("users/")
        assert len(set(issued)) == 2

    async def test_a_token_goes_over_a_plaintext_channel_too(
        self, database, database_url, dev_credentials
    ):
        settings = make_settings(database_url, **jwt_overrides(dev_credentials))
        me = subject()
        async with (
            serving(database, settings) as app,
            AsyncFinanceClient(
                f"127.0.0.1:{app.port}", token=dev_token(dev_credentials, me)
            ) as client,
        ):
            user = await client.users.create_user(new_user())
            assert await audit_actors(client, user.name) == {(me, "")}

    def test_the_sync_client_refuses_a_coroutine_provider(self):
        async def provider() -> str:
            return "token"

        with (
            FinanceClient("127.0.0.1:1", token_provider=provider) as client,  # type: ignore[arg-type]
            pytest.raises(TypeError, match="no coroutine"),
        ):
            client.users.get_user(upb.GetUserRequest(name="users/someone"))

    def test_a_token_and_a_provider_together_are_refused(self):
        with pytest.raises(ValueError, match="token or token_provider"):
            FinanceClient("127.0.0.1:1", token="a", token_provider=lambda: "b")

    def test_tls_and_grpc_credentials_together_are_refused(self):
        with pytest.raises(ValueError, match="tls or credentials"):
            FinanceClient("127.0.0.1:1", tls=Tls(), credentials=grpc.ssl_channel_credentials())

    def test_a_client_certificate_needs_its_key(self, dev_credentials):
        with pytest.raises(ValueError, match="cert and key go together"):
            Tls(ca=dev_credentials.ca, cert=dev_credentials.client_cert)


class TestMutualTls:
    async def test_a_client_certificate_calls_as_its_identity(self, mtls_app, dev_credentials):
        files = dev_credentials
        tls = Tls(ca=files.ca, cert=files.client_cert, key=files.client_key)
        async with AsyncFinanceClient(f"127.0.0.1:{mtls_app.port}", tls=tls) as client:
            user = await client.users.create_user(new_user())
            assert await audit_actors(client, user.name) == {(DEV_CLIENT_ID, DEV_CLIENT_ID)}

    async def test_a_client_without_a_certificate_is_turned_away(self, mtls_app, dev_credentials):
        tls = Tls(ca=dev_credentials.ca)
        async with AsyncFinanceClient(
            f"127.0.0.1:{mtls_app.port}", tls=tls, retries=None, timeout=5
        ) as client:
            with pytest.raises(UnavailableError):
                await client.users.create_user(new_user())

    async def test_the_server_name_checked_can_be_set(self, mtls_app, dev_credentials):
        files = dev_credentials
        tls = Tls(
            ca=files.ca, cert=files.client_cert, key=files.client_key, server_name="elsewhere"
        )
        async with AsyncFinanceClient(
            f"127.0.0.1:{mtls_app.port}", tls=tls, retries=None, timeout=5
        ) as client:
            with pytest.raises(UnavailableError):
                await client.users.create_user(new_user())
