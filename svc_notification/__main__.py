import sys

if sys.argv[1:2] == ["dead-letters"]:
    # Imported only when it runs: a serving replica never needs the CLI.
    from svc_notification import admin

    raise SystemExit(admin.main(sys.argv[2:]))
from svc_notification.server import main

raise SystemExit(main())
