"""``python -m workflow.cli``: the same as the ``s55`` console script."""

from workflow.cli import main

main()
