from svc_product.server import main

raise SystemExit(main())
