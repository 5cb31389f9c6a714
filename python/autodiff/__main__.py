"""``python -m autodiff``: walk through the seed notes (see ``autodiff.demo``)."""

from .demo import main

raise SystemExit(main())
