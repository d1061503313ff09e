"""Import Lambda sources by path: `lambda` is a Python keyword, so `lambda/` cannot be a package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"


def load(function: str, module: str = "handler") -> ModuleType:
    name = f"lambda_{function}_{module}"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, LAMBDA_ROOT / function / f"{module}.py")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[name]
