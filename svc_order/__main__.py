from svc_order.server import main

raise SystemExit(main())
