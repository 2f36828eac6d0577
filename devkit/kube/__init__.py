"""A real Kubernetes on this machine, for the cluster tests (tests/cluster) and `make cluster`: the control plane
(controlplane), one node with its pod network, kube-proxy and cluster DNS (node), the chart installed on it
(chart), and the command line (cli: `python -m devkit.kube up|serve|down`).
"""
