from devkit.kube.cli import main

raise SystemExit(main())
