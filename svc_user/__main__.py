from svc_user.server import main

raise SystemExit(main())
