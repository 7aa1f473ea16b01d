"""``python -m tpviz COMMAND``: the same as the ``tpviz`` command."""

from ._cli import main

raise SystemExit(main())
