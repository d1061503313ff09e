"""An in-process AWS (moto) for the operator commands' tests, isolated from any real AWS setup.

`emulated_aws` (a test module's `aws` fixture) starts moto with test credentials and no region
anywhere (each test says which region it uses); `deploy_stack` creates a CloudFormation stack in
moto whose only job is to carry outputs, as the real stacks do for the commands.
"""

from __future__ import annotations

import json

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws

REGION = "eu-west-1"
# Service models parsed once per test session: a new session's loader re-reads them from disk.
_MODELS = botocore.loaders.create_loader()


def session(region: str | None = REGION) -> boto3.session.Session:
    """A boto3 session that reads the environment as usual but shares the parsed service models."""
    core = botocore.session.Session()
    core.register_component("data_loader", _MODELS)
    return boto3.session.Session(botocore_session=core, region_name=region)


def emulated_aws(monkeypatch, tmp_path):
    """moto, test credentials in the environment, and no region, profile or AWS config file."""
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                     "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                     "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(variable, raising=False)
    # moto replaces these while it runs; set here, monkeypatch restores the caller's afterwards.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with mock_aws():
        yield session()


def no_credentials(monkeypatch) -> None:
    """Empty the credentials in the environment (botocore ignores empty ones; deleting them would
    break moto's own restore of the environment)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "")


def deploy_stack(session, name: str, outputs: dict[str, str], client=None) -> None:
    """A stack with these outputs (and one placeholder resource: CloudFormation needs one)."""
    template = {
        "Resources": {"Marker": {"Type": "AWS::SSM::Parameter",
                                 "Properties": {"Name": f"/stacks/{name}", "Type": "String", "Value": name}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    (client or session.client("cloudformation")).create_stack(StackName=name, TemplateBody=json.dumps(template))
