"""NAS Workbench: hardware-budgeted neural architecture search from a notebook, on Optuna."""

from __future__ import annotations

__version__ = "0.1.0"
