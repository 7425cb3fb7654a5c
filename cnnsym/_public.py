"""Modules that are also public functions of the package (``cnnsym.analyze``,
``cnnsym.verify``, ``cnnsym.lint``): importing ``cnnsym.analyze`` the module replaces the
package attribute ``cnnsym.analyze`` the function, so such a module is made callable and
calling it calls the function. Core layer: imports nothing of cnnsym."""
from __future__ import annotations

import sys
import types


# name -> the public function; filled by cnnsym/__init__.py
PUBLIC: dict = {}


class _CallableModule(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return PUBLIC[self.__name__.rpartition(".")[2]](*args, **kwargs)


def make_callable(module_name: str) -> None:
    sys.modules[module_name].__class__ = _CallableModule
