module shopmesh.dev/examples/go-events

go 1.26.0

require (
	// The jetstream package's ordered consumer (nats-server 2.10 or later).
	github.com/nats-io/nats.go v1.56.0
	google.golang.org/protobuf v1.36.12
	shopmesh.dev/gen/go v0.0.0
)

require (
	buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go v1.36.11-20251209175733-2a1774d88802.1 // indirect
	github.com/klauspost/compress v1.20.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.57.0 // indirect
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto v0.0.0-20261026165753-2ffab32bce7e // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261110000943-09e21b237f2c // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261104224025-d1e00e9f33ab // indirect
	google.golang.org/grpc v1.85.0 // indirect
)

// The generated module lives in this repository; outside it, point the
// replace at your checkout (or vendor gen/go into your own module).
replace shopmesh.dev/gen/go => ../../gen/go
