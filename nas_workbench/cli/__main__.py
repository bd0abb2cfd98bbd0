"""``python -m nas_workbench.cli``: the command line (worker processes are started this way)."""

import sys

from nas_workbench.cli import main

sys.exit(main())
