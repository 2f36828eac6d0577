// Command kubectl: the kubectl of k8s.io/kubectl at the same Kubernetes version as the control plane.
package main

import (
	// The client auth plugins (exec, OIDC) register themselves on import, as in the upstream main.
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
