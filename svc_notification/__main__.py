import sys

from svc_notification import admin
from svc_notification.server import main

raise SystemExit(admin.main(sys.argv[2:]) if sys.argv[1:2] == ["dead-letters"] else main())
