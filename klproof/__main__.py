"""`python -m klproof` runs the command line."""

from klproof.cli import main

main()
