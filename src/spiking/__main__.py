"""``python -m spiking``: the command line."""

from .cli import main

raise SystemExit(main())
