"""buf local plugin: Python messages, .pyi stubs and gRPC stubs, offline.

grpcio-tools bundles protoc together with the gRPC Python generator, but that
generator is not a protoc built-in that buf can call by name. This plugin
takes buf's CodeGeneratorRequest, hands the descriptors to the bundled protoc
and returns what it wrote, so `buf generate` stays the one generation command.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    # With include_imports buf also asks for our imports. googleapis' Python modules come from the
    # googleapis-common-protos wheel (two copies of one descriptor in a process clash); the rest (protovalidate's
    # buf/validate) ships no Python package, so it is generated here.
    files = [f for f in request.file_to_generate if not f.startswith("google/")]
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = pathlib.Path(tmp, "input.binpb")
        descriptors.write_bytes(descriptor_pb2.FileDescriptorSet(file=request.proto_file).SerializeToString())
        out = pathlib.Path(tmp, "out")
        out.mkdir()
        status = protoc.main(
            [
                "protoc",
                f"--descriptor_set_in={descriptors}",
                f"--python_out={out}",
                f"--pyi_out={out}",
                f"--grpc_python_out={out}",
                *files,
            ]
        )
        if status != 0:
            response.error = f"grpc_tools.protoc failed with exit status {status}"
            return response
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            response.file.add(name=path.relative_to(out).as_posix(), content=path.read_text())
    return response


if __name__ == "__main__":
    req = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    sys.stdout.buffer.write(generate(req).SerializeToString())
