"""``python -m seqae``: the same command line as the ``seqae`` console script."""

from seqae.cli import main

if __name__ == "__main__":
    main()
