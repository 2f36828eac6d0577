import sys

from svc_user import admin, keys
from svc_user.server import main

COMMANDS = {"grant-admin": admin.main, "keys": keys.main}

command = COMMANDS.get(sys.argv[1]) if sys.argv[1:] else None
raise SystemExit(command(sys.argv[2:]) if command else main())
