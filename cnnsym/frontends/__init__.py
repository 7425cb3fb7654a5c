"""Frontends translate a model definition into a :class:`~cnnsym.graph.Graph`, and nothing else."""
