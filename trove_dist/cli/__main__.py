"""``python -m trove_dist.cli``."""

from trove_dist.cli.app import main

if __name__ == "__main__":
    main()
