"""cnnsym: exact, symbolic analysis of convolutional networks."""
__version__ = "0.1.0"
