import importlib
import sys

# The CLIs' modules are imported only when one runs: a serving replica never needs them (0.2 MB).
COMMANDS = {"grant-admin": "svc_user.admin", "keys": "svc_user.keys"}

module = COMMANDS.get(sys.argv[1]) if sys.argv[1:] else None
if module:
    raise SystemExit(importlib.import_module(module).main(sys.argv[2:]))
from svc_user.server import main  # noqa: E402

raise SystemExit(main())
