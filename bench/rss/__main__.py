"""`python -m bench.rss`: see bench/rss/cli.py."""

from bench.rss.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
