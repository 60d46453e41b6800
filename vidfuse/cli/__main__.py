"""``python -m vidfuse.cli``: the ``vidfuse`` command (also what ``torchrun -m vidfuse.cli`` runs)."""

from vidfuse.cli import main

main()
