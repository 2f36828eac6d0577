// Command kube-controller-manager: Kubernetes' own kube-controller-manager (k8s.io/kubernetes/cmd/kube-controller-manager), built from this wrapper module
// because k8s.io/kubernetes cannot be built from the module proxy by itself (see go.mod).
package main

import (
	"os"
	// CronJob time zones need the zone database even where the host has none.
	_ "time/tzdata"

	"k8s.io/component-base/cli"
	// JSON logs and the client-go and version metrics register themselves on import, as in the upstream main.
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
)

func main() {
	os.Exit(cli.Run(app.NewControllerManagerCommand()))
}
