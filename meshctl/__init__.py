"""Tooling around the mesh: the topology, Envoy's configuration, the local launcher."""
