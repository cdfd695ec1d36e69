"""Calling any RPC by its method descriptor over a real channel, whatever its status."""

from dataclasses import dataclass

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from tests.fuzz_requests import methods
from tests.fuzz_values import WireChange, change_wire

# Long enough that a call that hangs fails the test instead of stalling the run.
CALL_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class Answer:
    """What the server answered one call: a status, the response, and every byte it sent."""

    code: grpc.StatusCode
    response: Message | None
    details: str
    sent: bytes  # the response, or the error's message and trailing metadata


async def call(
    channel: grpc.aio.Channel,
    method: MethodDescriptor,
    request: Message,
    metadata: tuple[tuple[str, str | bytes], ...] = (),
    wire: WireChange | None = None,
) -> Answer:
    """Call `method` with `request` (its bytes changed on the `wire`) and `metadata`, and
    catch whatever status comes back."""
    response_class = message_factory.GetMessageClass(method.output_type)
    rpc: grpc.aio.UnaryUnaryMultiCallable[Message, Message] = channel.unary_unary(
        f"/{method.containing_service.full_name}/{method.name}",
        request_serializer=lambda m: change_wire(m.SerializeToString(), wire),
        response_deserializer=response_class.FromString,
    )
    try:
        response = await rpc(request, timeout=CALL_TIMEOUT_SECONDS, metadata=metadata)
    except grpc.aio.AioRpcError as error:
        trailers = [v if isinstance(v, bytes) else v.encode() for _, v in error.trailing_metadata()]
        sent = b"\n".join([(error.details() or "").encode(), *trailers])
        return Answer(error.code(), None, error.details() or "", sent)
    return Answer(grpc.StatusCode.OK, response, "", response.SerializeToString())


async def page_tokens(channel: grpc.aio.Channel, user: str) -> dict[str, list[str]]:
    """For each List method, the token of the second page of one item each, for `user`."""
    tokens: dict[str, list[str]] = {}
    for method in methods():
        fields = method.input_type.fields_by_name
        if "page_token" not in fields:
            continue
        request = message_factory.GetMessageClass(method.input_type)(page_size=1)
        if "parent" in fields:
            request.parent = user  # type: ignore[attr-defined]
        answer = await call(channel, method, request)
        token = getattr(answer.response, "next_page_token", "")
        tokens[method.full_name] = [token] if token else []
    return tokens
