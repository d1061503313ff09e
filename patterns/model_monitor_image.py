"""ModelMonitorImage: SageMaker Model Monitor's built-in analyzer container of the deployment region.

The analyzer (`sagemaker-model-monitor-analyzer`) lives in a per-region AWS account; this table is
the SageMaker SDK's (`image_uri_config/model-monitor.json`, checked by tests/test_model_monitor.py).
A CloudFormation mapping keyed by AWS::Region picks the account at deploy time, so the stack stays
environment-agnostic, like XgboostImage. The ISO regions (their own ECR domains) are left out.

Usage, in any stack::

    image = ModelMonitorImage(stack, "MonitorImage")
    image.uri  # "<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-model-monitor-analyzer", a token
"""

from __future__ import annotations

from aws_cdk import Aws, CfnMapping
from constructs import Construct

REPOSITORY = "sagemaker-model-monitor-analyzer"
# Region -> the account that publishes the analyzer there (SageMaker SDK v3, 2026-11).
REGISTRIES = {
    "af-south-1": "875698925577", "ap-east-1": "001633400207", "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524", "ap-northeast-3": "990339680094", "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676", "ap-southeast-2": "563025443158", "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234", "cn-north-1": "453000072557", "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253", "eu-central-2": "590183933784", "eu-north-1": "895015795356",
    "eu-south-1": "933208885752", "eu-south-2": "437450045455", "eu-west-1": "468650794304",
    "eu-west-2": "749857270468", "eu-west-3": "680080141114", "il-central-1": "843974653677",
    "me-central-1": "588750061953", "me-south-1": "607024016150", "sa-east-1": "539772159869",
    "us-east-1": "156813124566", "us-east-2": "777275614652", "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}


class ModelMonitorImage(Construct):
    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        self.mapping = CfnMapping(self, "Registries",
                                  mapping={region: {"account": account} for region, account in REGISTRIES.items()})
        account = self.mapping.find_in_map(Aws.REGION, "account")
        # URL_SUFFIX: amazonaws.com, or amazonaws.com.cn in the China regions.
        self.uri = f"{account}.dkr.ecr.{Aws.REGION}.{Aws.URL_SUFFIX}/{REPOSITORY}"
