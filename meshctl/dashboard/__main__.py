"""`python -m meshctl.dashboard`: rewrites monitoring/dashboards/shopmesh.json when it is stale."""

from meshctl.dashboard import main

if __name__ == "__main__":
    raise SystemExit(main())
