"""Imports every topic module once, so that their registrations fill the tables of
:mod:`.registry` before the interpreter runs. The package imports this module; nothing
else needs to."""
from __future__ import annotations

from . import (containers, functional, modules, modules_activation, modules_attention, modules_conv,  # noqa: F401
               modules_linear, modules_norm, modules_pool, modules_shape, modules_transformer, namespaces, pybounds,
               pybuiltins, pycopy, pygen, pystdlib, pytext, tensor_ctors, tensor_math, tensor_methods)

TOPICS = (containers, functional, modules, modules_activation, modules_attention, modules_conv, modules_linear,
          modules_norm, modules_pool, modules_shape, modules_transformer, namespaces, pybounds, pybuiltins, pycopy,
          pygen, pystdlib, pytext, tensor_ctors, tensor_math, tensor_methods)
