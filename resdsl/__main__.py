"""``python -m resdsl`` — the same CLI as the ``resdsl`` script (used by ``torchrun -m resdsl``)."""

from resdsl.cli import main

if __name__ == "__main__":
    main()
