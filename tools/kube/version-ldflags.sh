# Sourced by tools/install-kube.sh and tools/install-node.sh: `version_ldflags v1.33.13` prints the -ldflags that
# stamp the Kubernetes version into a binary built from the wrapper modules. Without them the components report
# v0.0.0-master, and `helm install` then fails the chart's kubeVersion check.
version_ldflags() {
  local version=$1 major minor flags="-s -w" pkg
  major=${version#v}
  major=${major%%.*}
  minor=$(cut -d. -f2 <<<"$version")
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  printf '%s\n' "$flags"
}
