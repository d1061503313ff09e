"""Check the AWS credentials and region: who they are, in which account and region.

`make diff`, `make deploy`, `make destroy` and `make bootstrap-account` run this first, so a missing
or expired login gives one clear message (exit 3) instead of the CDK CLI's "Unable to resolve AWS
account" (twice) or a JavaScript stack trace. Calls only STS GetCallerIdentity, which needs no
permission. With --environment it prints only `aws://ACCOUNT/REGION`, the argument of `cdk bootstrap`.
"""

from __future__ import annotations

import argparse

from botocore.config import Config

from ops import aws
from ops.cli import Runtime, add_aws_options

NAME = "whoami"
EXAMPLES = """examples:
  python -m ops whoami                                         # account, identity, region and its source
  python -m ops whoami --environment                           # aws://ACCOUNT/REGION for cdk bootstrap
  python -m ops whoami --aws-profile sandbox --region eu-west-1"""
USES_DEPLOYMENT = False  # no --profile/--config: the identity does not depend on the app's settings
# Fail in seconds when STS cannot be reached, not after botocore's default minutes of retries.
STS_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_aws_options(p)
    p.add_argument("--environment", action="store_true", help="print only aws://ACCOUNT/REGION (for cdk bootstrap)")


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    session = aws.connect(args.region, args.aws_profile)
    try:
        identity = session.client("sts", config=STS_CONFIG).get_caller_identity()
    except aws.AWS_ERRORS as error:
        raise aws.failure(error, session) from None
    if args.environment:
        runtime.say(f"aws://{identity['Account']}/{session.region}")
    else:
        runtime.say(f"AWS account {identity['Account']} as {identity['Arn']}, {session.describe()}")
    return 0
