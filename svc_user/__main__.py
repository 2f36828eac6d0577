import sys

from svc_user import admin
from svc_user.server import main

raise SystemExit(admin.main(sys.argv[2:]) if sys.argv[1:2] == ["grant-admin"] else main())
