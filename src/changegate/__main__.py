from changegate.cli import main

raise SystemExit(main())
