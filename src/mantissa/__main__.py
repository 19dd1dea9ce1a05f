"""``python -m mantissa``: the ``mantissa`` command."""

from mantissa.cli import main

if __name__ == "__main__":
    main()
