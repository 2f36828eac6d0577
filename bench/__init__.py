"""`make bench`: the mesh's cost per request, measured against the physical limit in one run.

`python -m bench --help` lists the options; docs/performance.md explains the method and the figures.
"""
