"""``python -m autotsnet.cli`` entry point (used by torchrun)."""

from autotsnet.cli.app import main

if __name__ == "__main__":
    main()
