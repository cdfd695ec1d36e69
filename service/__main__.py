"""`python -m service` runs the finance-tracker command."""

from service.cli import main

main()
