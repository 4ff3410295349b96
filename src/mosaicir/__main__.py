"""``python -m mosaicir`` runs the command line."""

from mosaicir.cli import main

main()
