from festival.cli import main

raise SystemExit(main())
