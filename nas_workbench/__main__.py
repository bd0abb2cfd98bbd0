"""``python -m nas_workbench``: the ``nas-workbench`` command line."""

import sys

from nas_workbench.cli import main

sys.exit(main())
