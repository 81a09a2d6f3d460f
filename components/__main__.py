"""`python -m components`: the same as the `webstack` command."""

from components.cli import main

raise SystemExit(main())
