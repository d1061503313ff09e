"""Import code by path: `lambda` is a Python keyword, so `lambda/` cannot be a package, and the
Glue script in `etl/` is a standalone file uploaded as it is."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_ROOT = PROJECT_ROOT / "lambda"


def load_file(path: Path, name: str) -> ModuleType:
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        spec.loader.exec_module(loaded)
    return sys.modules[name]


def load(function: str, module: str = "handler") -> ModuleType:
    return load_file(LAMBDA_ROOT / function / f"{module}.py", f"lambda_{function}_{module}")


def load_etl() -> ModuleType:
    return load_file(PROJECT_ROOT / "etl" / "raw_to_curated.py", "etl_raw_to_curated")
