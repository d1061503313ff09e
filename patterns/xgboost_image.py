"""XgboostImage: the built-in XGBoost container URI of the deployment region.

A CloudFormation mapping generated from the SageMaker SDK (`python -m scripts.xgboost_images`),
looked up with the stack's region at deploy time, so the stack stays environment-agnostic.

Usage, in any stack::

    image = XgboostImage(stack, "XgboostImage")
    image.uri      # "<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1", a token
    image.version  # "1.7-1"
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import Aws, CfnMapping
from constructs import Construct

IMAGE_MAP = Path(__file__).resolve().parent / "xgboost_images.json"


class XgboostImage(Construct):
    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        table = json.loads(IMAGE_MAP.read_text())
        self.version = table["version"]
        self.mapping = CfnMapping(self, "Images", mapping={region: {"uri": uri} for region, uri in table["images"].items()})
        self.uri = self.mapping.find_in_map(Aws.REGION, "uri")
