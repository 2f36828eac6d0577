// Command kubelet: Kubernetes' own kubelet (k8s.io/kubernetes/cmd/kubelet), built from this wrapper module
// because k8s.io/kubernetes cannot be built from the module proxy by itself (see go.mod); tools/install-node.sh.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	// JSON logs and the client-go and version metrics register themselves on import, as in the upstream main.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kubelet/app"
)

func main() {
	os.Exit(cli.Run(app.NewKubeletCommand()))
}
