"""``python -m trackwell`` runs the command line."""

from trackwell.cli import main

if __name__ == "__main__":
    main()
