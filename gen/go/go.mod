// The Go module of the code `make gen` writes to gen/go (messages and gRPC
// stubs of protos/, import path shopmesh.dev/gen/go/shopmesh/<svc>/v1).
// Generated: the source is tools/packaging/go/go.mod (with its go.sum). To
// change a version, edit it there, `make gen`, run `go mod tidy` in gen/go
// and copy go.mod and go.sum back to tools/packaging/go.
module shopmesh.dev/gen/go

go 1.26.0

require (
	// buf/validate/validate.proto as of protovalidate v1.1.0 (BSR commit
	// 2a1774d88802), the file tools/protodeps.sh compiles the contracts
	// against; a later commit would embed different rules.
	buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go v1.36.11-20251209175733-2a1774d88802.1
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e
	google.golang.org/genproto/googleapis/api v0.0.0-20261110000943-09e21b237f2c
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.12
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab // indirect
)
