"""Development-time helpers the tests and the bench share: a throwaway PostgreSQL server (`postgres`) and free
loopback ports (`ports`).

Never shipped in the image (the Dockerfile does not copy it, .dockerignore does not admit it) and never imported
by meshkit or a service; `tests/` and `bench/` import it, `tests/support/` keeps what only the tests use.
"""
