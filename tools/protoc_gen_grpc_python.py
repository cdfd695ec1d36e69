"""A protoc plugin that runs grpc_tools' built-in Python gRPC generator.

grpcio-tools ships the gRPC Python generator only inside its bundled protoc, not as a
`protoc-gen-grpc_python` executable, so buf cannot call it directly. This plugin receives
buf's CodeGeneratorRequest, hands the same descriptors to grpc_tools.protoc and returns
the files it writes.
"""

import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def main() -> None:
    """Read a CodeGeneratorRequest on stdin, write a CodeGeneratorResponse on stdout."""
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse()
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = Path(tmp, "descriptors.binpb")
        descriptors.write_bytes(
            descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString()
        )
        out = Path(tmp, "out")
        out.mkdir()
        args = [
            "grpc_tools.protoc",
            f"--descriptor_set_in={descriptors}",
            f"--grpc_python_out={request.parameter + ':' if request.parameter else ''}{out}",
            *request.file_to_generate,
        ]
        if protoc.main(args) != 0:
            response.error = "grpc_tools.protoc failed"
        for path in sorted(out.rglob("*.py")):
            response.file.add(name=str(path.relative_to(out)), content=path.read_text())
    response.supported_features = plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
