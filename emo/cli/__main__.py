"""`python -m emo.cli`, as the `emo` command."""

from emo.cli import main

main()
