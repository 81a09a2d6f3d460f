"""`python -m components`: the same as the `webstack` command."""

from components.tooling.cli import main

raise SystemExit(main())
