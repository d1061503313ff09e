"""Generate patterns/xgboost_images.json: the built-in XGBoost container URI of every region.

The app stays environment-agnostic by putting this table into a CloudFormation mapping keyed by
AWS::Region, instead of resolving one region at synth time. Importing the SageMaker SDK takes
seconds, so synth reads the generated file; tests/test_sagemaker.py checks it against the SDK.

Usage: python -m scripts.xgboost_images [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

XGBOOST_VERSION = "1.7-1"
IMAGE_MAP = Path(__file__).resolve().parent.parent / "patterns" / "xgboost_images.json"


def from_sdk() -> dict[str, str]:
    from sagemaker.core import image_uris

    regions = image_uris.config_for_framework("xgboost")["training"]["versions"][XGBOOST_VERSION]["registries"]
    return {region: image_uris.retrieve(framework="xgboost", region=region, version=XGBOOST_VERSION)
            for region in sorted(regions)}


def render(images: dict[str, str]) -> str:
    return json.dumps({"version": XGBOOST_VERSION, "images": images}, indent=2) + "\n"


def main(argv: list[str]) -> int:
    rendered = render(from_sdk())
    if "--check" in argv:
        if IMAGE_MAP.read_text() != rendered:
            print(f"{IMAGE_MAP} differs from the SageMaker SDK: run python -m scripts.xgboost_images", file=sys.stderr)
            return 1
        return 0
    IMAGE_MAP.write_text(rendered)
    print(f"wrote {IMAGE_MAP}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
