// Command kube-proxy: Kubernetes' own kube-proxy (k8s.io/kubernetes/cmd/kube-proxy), built from this wrapper
// module because k8s.io/kubernetes cannot be built from the module proxy by itself (see go.mod);
// tools/install-node.sh. The cluster tier's node runs it in iptables mode (tests/cluster/node.py).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	// The client-go and version metrics register themselves on import, as in the upstream main.
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-proxy/app"
)

func main() {
	os.Exit(cli.Run(app.NewProxyCommand()))
}
