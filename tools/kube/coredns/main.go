// Command coredns: CoreDNS's own server (github.com/coredns/coredns/coremain) with only the plugins the cluster
// tier's DNS needs (tests/cluster/node.py): kubernetes (cluster.local from the API server), bind, errors, ready.
// Plugins not imported are not registered, so a Corefile can use no other. No forward or cache: it answers the cluster's names and nothing else, so no query ever leaves the machine.
// Built by tools/install-node.sh from this wrapper module (its go.mod and go.sum pin the version).
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
