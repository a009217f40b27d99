"""Run micro-dashboard with `python -m micro_dashboard`."""

from .cli import main

main()
