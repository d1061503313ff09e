"""AWS access for the operator commands: region and credentials resolved as the AWS CLI does, AWS
errors turned into one-line messages, and the outputs of the deployed stacks.

Region, first found wins (as the AWS CLI v2): --region, AWS_REGION, AWS_DEFAULT_REGION, the
region of the AWS profile (--aws-profile, AWS_PROFILE or default) in the AWS config file. boto3
alone reads only AWS_DEFAULT_REGION, so `export AWS_REGION=...` would not reach it.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from ops.cli import NoAwsAccess, OpsError

SETUP_HELP = ("with IAM Identity Center (SSO) `aws configure sso --profile <name>`, then "
              "`aws sso login --profile <name>` and export AWS_PROFILE=<name>; with access keys "
              "`aws configure --profile <name>` and export AWS_PROFILE=<name> (or export AWS_ACCESS_KEY_ID and "
              "AWS_SECRET_ACCESS_KEY)")
LOGIN_AGAIN = "log in again (`aws sso login --profile <name>`) or renew the access keys"
REGION_HELP = ("pass --region <region>, export AWS_REGION=<region>, or set one in your AWS profile "
               "(`aws configure set region <region>`)")
# Codes with which AWS rejects the credentials themselves (expired, unknown, wrong secret).
REJECTED_CREDENTIALS = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId",
                                  "UnrecognizedClientException", "SignatureDoesNotMatch",
                                  "InvalidSignatureException"})
# Credentials missing or unusable: expired SSO token, failing credential_process, half a key pair.
CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, TokenRetrievalError,
                     SSOError)
UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError)
# The profile variables in botocore's order.
PROFILE_VARIABLES = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")


def unknown_profile(error: ProfileNotFound, aws_profile: str | None) -> NoAwsAccess:
    """Name the profile and the option or variable that chose it."""
    origin = "--aws-profile" if aws_profile else next((v for v in PROFILE_VARIABLES if os.environ.get(v)),
                                                      "AWS_PROFILE")
    fix = "fix it" if aws_profile else "fix or unset it"
    return NoAwsAccess(f"{origin}={error.kwargs.get('profile')} names no profile in ~/.aws/config or "
                       f"~/.aws/credentials: {fix} (`aws configure list-profiles` lists them), or create it: {SETUP_HELP}")


def resolve_region(explicit: str | None = None, aws_profile: str | None = None) -> tuple[str | None, str]:
    """(region, where it came from), in the AWS CLI's order; (None, "") when there is none."""
    if explicit:
        return explicit, "--region"
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(variable):
            return os.environ[variable], variable
    session = botocore.session.Session(profile=aws_profile)
    region = session.get_scoped_config().get("region")  # ProfileNotFound for an unknown profile
    if region:
        return region, f"AWS profile {session.profile or 'default'}"
    return None, ""


@dataclasses.dataclass(frozen=True)
class Aws:
    session: boto3.session.Session
    region: str
    region_source: str

    def client(self, service: str, config: Config | None = None) -> Any:
        return self.session.client(service, config=config)

    def describe(self) -> str:
        return f"region {self.region} (from {self.region_source})"


def connect(region: str | None = None, aws_profile: str | None = None) -> Aws:
    """A session with a region and credentials, or NoAwsAccess saying how to set them up."""
    try:
        resolved, source = resolve_region(region, aws_profile)
        session = boto3.session.Session(profile_name=aws_profile, region_name=resolved)
        credentials = session.get_credentials()
    except ProfileNotFound as error:
        raise unknown_profile(error, aws_profile) from None
    except CREDENTIAL_ERRORS as error:
        raise failure(error) from None
    if credentials is None:
        no_region = f"; no AWS region either: {REGION_HELP}" if resolved is None else ""
        raise NoAwsAccess(f"no AWS credentials found (looked in the AWS_* variables, profile {session.profile_name} "
                          f"in ~/.aws/credentials and ~/.aws/config, container and instance roles): "
                          f"set them up once: {SETUP_HELP}{no_region}")
    if resolved is None:
        raise NoAwsAccess(f"no AWS region: {REGION_HELP}")
    return Aws(session, resolved, source)


def failure(error: Exception, aws: Aws | None = None) -> OpsError:
    """The OpsError (one line, its exit code) for an error raised by boto3 (with `aws`: naming the region)."""
    if isinstance(error, CREDENTIAL_ERRORS):
        return NoAwsAccess(f"AWS credentials could not be used ({error}): {LOGIN_AGAIN}; or set them up anew: {SETUP_HELP}")
    if isinstance(error, NoRegionError):
        return NoAwsAccess(f"no AWS region: {REGION_HELP}")
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in REJECTED_CREDENTIALS:
        return NoAwsAccess(f"AWS rejected the credentials ({error}): they may have expired; {LOGIN_AGAIN}")
    if isinstance(error, UNREACHABLE):
        where = f" in {aws.describe()}" if aws else ""
        return OpsError(f"cannot reach AWS{where} ({error}): check the region name and the network or proxy")
    return OpsError(str(error))


AWS_ERRORS = (BotoCoreError, ClientError)


def deployed_stack(cloudformation: Any, name: str) -> dict[str, Any]:
    """DescribeStacks of `name`; a stack that does not exist is an OpsError naming the region."""
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        if "does not exist" not in error.response.get("Error", {}).get("Message", ""):
            raise
        raise OpsError(f"stack {name} is not deployed in {cloudformation.meta.region_name}: deploy it "
                       "(README, Deploy guide) or check --region and --profile/--config") from None


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
