"""``python -m tpviz COMMAND``: the same as the ``tpviz`` command."""

from .cli import main

raise SystemExit(main())
