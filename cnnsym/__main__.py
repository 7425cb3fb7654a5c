"""``python -m cnnsym``: the same as the ``cnnsym`` command."""
from .cli import main

if __name__ == "__main__":
    main(prog_name="cnnsym")
