"""A protoc plugin that writes a markdown API reference, api.md, from the protos and their comments.

buf runs it once for all files (`strategy: all` in buf.gen.yaml). It documents only the files to
generate, not their imports: each service with its RPCs, each message with its fields (type,
label, `google.api.field_behavior`, resource reference) and `google.api.resource`, each enum with
its values. Files come sorted by name and declarations in the order each file declares them (the
resource first, then the requests in RPC order), so the output changes only when the protos do.
Imported types link to their public documentation by name.
"""

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, TypeVar, cast

from google.api import field_behavior_pb2, resource_pb2
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

OUTPUT_FILE = "api.md"
NOTICE = "Generated from the comments in `protos/` by `uv run buf generate`: edit those, not this."
PROTOBUF_DOCS = "https://protobuf.dev/reference/protobuf/google.protobuf/"
GOOGLEAPIS_SOURCE = "https://github.com/googleapis/googleapis/blob/master/"

File = descriptor_pb2.FileDescriptorProto
Service = descriptor_pb2.ServiceDescriptorProto
Message = descriptor_pb2.DescriptorProto
Enum = descriptor_pb2.EnumDescriptorProto
Field = descriptor_pb2.FieldDescriptorProto
Path = tuple[int, ...]
Options = TypeVar("Options", descriptor_pb2.FieldOptions, descriptor_pb2.MessageOptions)

SCALAR_NAMES = {number: name.removeprefix("TYPE_").lower() for name, number in Field.Type.items()}
KINDS = {Service: "service", Message: "message", Enum: "enum"}


@dataclass(frozen=True)
class Declaration:
    """A service, message or enum: its name inside the package and its SourceCodeInfo path."""

    name: str
    package: str
    path: Path
    proto: Service | Message | Enum

    @property
    def full_name(self) -> str:
        """The fully qualified name, such as `finance.v1.Account.Type`."""
        return f"{self.package}.{self.name}" if self.package else self.name

    @property
    def kind(self) -> str:
        """`service`, `message` or `enum`, as a proto file spells it."""
        return KINDS[type(self.proto)]


def declarations(file: File) -> Iterator[Declaration]:
    """The file's services, then each message followed by what it nests, then its enums."""
    for index, service in enumerate(file.service):
        yield Declaration(service.name, file.package, (File.SERVICE_FIELD_NUMBER, index), service)
    yield from _messages(file.message_type, file, "", (File.MESSAGE_TYPE_FIELD_NUMBER,))
    yield from _enums(file.enum_type, file, "", (File.ENUM_TYPE_FIELD_NUMBER,))


def _messages(
    messages: Iterable[Message], file: File, prefix: str, path: Path
) -> Iterator[Declaration]:
    for index, message in enumerate(messages):
        here, name = (*path, index), prefix + message.name
        yield Declaration(name, file.package, here, message)
        enums = (*here, Message.ENUM_TYPE_FIELD_NUMBER)
        yield from _enums(message.enum_type, file, f"{name}.", enums)
        nested = (*here, Message.NESTED_TYPE_FIELD_NUMBER)
        yield from _messages(message.nested_type, file, f"{name}.", nested)


def _enums(enums: Iterable[Enum], file: File, prefix: str, path: Path) -> Iterator[Declaration]:
    for index, enum in enumerate(enums):
        yield Declaration(prefix + enum.name, file.package, (*path, index), enum)


def comments_of(file: File) -> dict[Path, str]:
    """Each element's leading comment (else its trailing one), keyed by SourceCodeInfo path."""
    found = {}
    for location in file.source_code_info.location:
        text = location.leading_comments or location.trailing_comments
        lines = (line.removeprefix(" ").rstrip() for line in text.splitlines())
        if cleaned := "\n".join(lines).strip():
            found[tuple(location.path)] = cleaned
    return found


def cell(text: str) -> str:
    """Text fit for one markdown table cell: lines joined, paragraphs kept apart, pipes escaped."""
    paragraphs = (" ".join(paragraph.split("\n")) for paragraph in text.split("\n\n"))
    return "<br><br>".join(paragraphs).replace("|", "\\|")


def extension(options: Options, handle: Any) -> Any:
    """An extension's value, decoded from the options' raw bytes now that google.api's are known.

    googleapis-common-protos types its extension handles as plain FieldDescriptors, which the
    protobuf stubs do not accept as keys; callers say what type the value has.
    """
    return type(options).FromString(options.SerializeToString()).Extensions[handle]


def behaviors(field: Field) -> str:
    """The field's `google.api.field_behavior` annotations (extension 1052), as declared."""
    values = cast(list[int], extension(field.options, field_behavior_pb2.field_behavior))
    return ", ".join(field_behavior_pb2.FieldBehavior.Name(value) for value in values)


def resource_of(message: Message) -> resource_pb2.ResourceDescriptor:
    """The message's `google.api.resource` annotation (extension 1053); empty when absent."""
    value = extension(message.options, resource_pb2.resource)
    return cast(resource_pb2.ResourceDescriptor, value)


def reference_of(field: Field) -> resource_pb2.ResourceReference:
    """The field's `google.api.resource_reference` (extension 1055); empty when absent."""
    value = extension(field.options, resource_pb2.resource_reference)
    return cast(resource_pb2.ResourceReference, value)


def is_map_entry(declaration: Declaration) -> bool:
    """True for the message protoc makes for a `map<K, V>` field (documented as the field)."""
    return isinstance(declaration.proto, Message) and declaration.proto.options.map_entry


def row(*cells: str) -> str:
    """One markdown table row."""
    return f"| {' | '.join(cells)} |"


class Reference:
    """The API reference of the files to generate, linking types across all the request's files."""

    def __init__(self, request: plugin_pb2.CodeGeneratorRequest) -> None:
        """Index every type of every file (imports too), so that fields can link to them."""
        self._documented = set(request.file_to_generate)
        ours = (file for file in request.proto_file if file.name in self._documented)
        self._files = sorted(ours, key=attrgetter("name"))
        self._types: dict[str, tuple[File, Declaration]] = {}
        self._map_entries: dict[str, Message] = {}
        self._resources: dict[str, str] = {}
        for file in request.proto_file:
            for declaration in declarations(file):
                self._types[f".{declaration.full_name}"] = (file, declaration)
                if not isinstance(declaration.proto, Message):
                    continue
                if declaration.proto.options.map_entry:
                    self._map_entries[f".{declaration.full_name}"] = declaration.proto
                elif file.name in self._documented:
                    resource = resource_of(declaration.proto)
                    if resource.type:
                        self._resources[resource.type] = declaration.full_name

    def markdown(self) -> str:
        """The whole document: title, contents, then one section per file."""
        lines = ["# API reference", "", NOTICE, "", "## Contents", ""]
        for file in self._files:
            lines.append(f"- [{file.name}](#{file.name})")
            for declaration in self._listed(file):
                link = f"[{declaration.name}](#{declaration.full_name})"
                lines.append(f"  - {declaration.kind} {link}")
        for file in self._files:
            lines += ["", *self._file_section(file)]
        return "\n".join(lines).rstrip() + "\n"

    def _listed(self, file: File) -> Iterator[Declaration]:
        return (d for d in declarations(file) if not is_map_entry(d))

    def _file_section(self, file: File) -> list[str]:
        comments = comments_of(file)
        lines = [f'<a name="{file.name}"></a>', f"## {file.name}", "", f"Package `{file.package}`."]
        for declaration in self._listed(file):
            lines += ["", f'<a name="{declaration.full_name}"></a>']
            lines += [f"### {declaration.kind} {declaration.name}", ""]
            if comment := comments.get(declaration.path):
                lines += [comment, ""]
            if isinstance(declaration.proto, Service):
                lines += self._rpcs(declaration.proto, declaration.path, comments)
            elif isinstance(declaration.proto, Message):
                lines += self._fields(declaration.proto, declaration.path, comments)
            else:
                lines += _values(declaration.proto, declaration.path, comments)
        return lines

    def _rpcs(self, service: Service, path: Path, comments: dict[Path, str]) -> list[str]:
        lines = [row("RPC", "Request", "Response", "Description"), row(*["---"] * 4)]
        for index, method in enumerate(service.method):
            request = self._link(method.input_type, stream=method.client_streaming)
            response = self._link(method.output_type, stream=method.server_streaming)
            comment = comments.get((*path, Service.METHOD_FIELD_NUMBER, index), "")
            lines.append(row(f"`{method.name}`", request, response, cell(comment)))
        return lines

    def _fields(self, message: Message, path: Path, comments: dict[Path, str]) -> list[str]:
        lines = []
        resource = resource_of(message)
        if resource.type:
            patterns = ", ".join(f"`{pattern}`" for pattern in resource.pattern)
            lines += [f"Resource `{resource.type}`, named {patterns}.", ""]
        if not message.field:
            return [*lines, "No fields."]
        lines += [row("Field", "Type", "Label", "Behavior", "Description"), row(*["---"] * 5)]
        for index, field in enumerate(message.field):
            description = comments.get((*path, Message.FIELD_FIELD_NUMBER, index), "")
            if reference := self._reference(field):
                description = f"{description}\n\n{reference}".strip()
            label = _label(field, message, field.type_name in self._map_entries)
            kind = self._type(field)
            lines.append(row(f"`{field.name}`", kind, label, behaviors(field), cell(description)))
        return lines

    def _type(self, field: Field) -> str:
        if not field.type_name:
            return SCALAR_NAMES[field.type]
        if entry := self._map_entries.get(field.type_name):
            key, value = entry.field
            return f"map from {self._type(key)} to {self._type(value)}"
        return self._link(field.type_name)

    def _link(self, type_name: str, *, stream: bool = False) -> str:
        """Our types link to their section; Google's to their public documentation."""
        if stream:
            return f"stream {self._link(type_name)}"
        name = type_name.lstrip(".")
        if type_name not in self._types:
            return f"`{name}`"
        file, declaration = self._types[type_name]
        if file.name in self._documented:
            return f"[{declaration.name}](#{name})"
        if file.package == "google.protobuf":
            return f"[{name}]({PROTOBUF_DOCS})"
        if file.name.startswith("google/"):
            return f"[{name}]({GOOGLEAPIS_SOURCE}{file.name})"
        return f"`{name}`"

    def _reference(self, field: Field) -> str:
        """The field's `google.api.resource_reference` (extension 1055), as a sentence."""
        reference = reference_of(field)
        if reference.type:
            return f"Resource reference: {self._resource(reference.type)}."
        if reference.child_type:
            return f"Resource reference: a parent of {self._resource(reference.child_type)}."
        return ""

    def _resource(self, resource_type: str) -> str:
        message = self._resources.get(resource_type)
        return f"[`{resource_type}`](#{message})" if message else f"`{resource_type}`"


def _label(field: Field, message: Message, is_map: bool) -> str:
    if field.proto3_optional:
        return "optional"
    if field.HasField("oneof_index"):
        return f"oneof `{message.oneof_decl[field.oneof_index].name}`"
    return "repeated" if field.label == Field.LABEL_REPEATED and not is_map else ""


def _values(enum: Enum, path: Path, comments: dict[Path, str]) -> list[str]:
    lines = [row("Value", "Number", "Description"), row(*["---"] * 3)]
    for index, value in enumerate(enum.value):
        comment = comments.get((*path, Enum.VALUE_FIELD_NUMBER, index), "")
        lines.append(row(f"`{value.name}`", str(value.number), cell(comment)))
    return lines


def main() -> None:
    """Read a CodeGeneratorRequest on stdin, write a CodeGeneratorResponse with api.md on stdout."""
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    if request.parameter:
        response.error = f"protoc_gen_markdown takes no options, got {request.parameter!r}"
    else:
        response.file.add(name=OUTPUT_FILE, content=Reference(request).markdown())
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
