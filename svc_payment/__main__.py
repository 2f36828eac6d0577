from svc_payment.server import main

raise SystemExit(main())
