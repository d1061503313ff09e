"""Call the deployed inference API with SigV4-signed requests (IAM auth), as any application would.

Reads the API's URL (and, when the deployment has a usage-plan quota, its API key) from the
SageMaker stack's outputs, signs a POST with your AWS credentials (botocore SigV4, service
execute-api) and sends it with urllib. Prints the JSON answer, one prediction per instance:
{"predictions": [[p_ok, p_warning, p_fault]]} with the app's multi:softprob model. The default body
is one sample reading; --body or --body-file sends your own: {"instances": [{"temperature_c": 71.5,
...}]}. Your identity needs execute-api:Invoke on the InferenceApiMethodArn output (attach the
InferenceApiInvokePolicyArn output). A private API (prod) answers only inside the VPC, through its
execute-api endpoint, from a resource with the API's caller security group (docs/architecture.md).
"""

from __future__ import annotations

import argparse
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from config.settings import Settings
from ops import aws
from ops.cli import (
    EXIT_FAILED,
    NoAwsAccess,
    OpsError,
    Runtime,
    UsageError,
    add_aws_options,
    add_deployment_options,
    deployment_settings,
    describe_deployment,
)

NAME = "invoke-api"
EXAMPLES = """examples:
  python -m ops invoke-api                                     # one sample reading to the sandbox's API
  python -m ops invoke-api --body '{"instances": [{"temperature_c": 20.5, "humidity_pct": null}]}'
  python -m ops invoke-api --config deployments/example.json --body-file readings.json
  python -m ops invoke-api --url https://abc123.execute-api.eu-west-1.amazonaws.com/v1/predictions"""
SAMPLE_BODY = {"instances": [{"temperature_c": 71.5, "humidity_pct": 40.25, "battery_pct": 88}]}
SERVICE = "execute-api"
HOST_REGION = re.compile(r"^[a-z0-9]+(?:-vpce-[a-z0-9]+)?\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$")
# API Gateway's answers when IAM refuses the credentials themselves (not the permission).
REJECTED = ("security token included in the request is expired", "security token included in the request is invalid",
            "signature we calculated does not match")


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_deployment_options(p)
    add_aws_options(p)
    body = p.add_mutually_exclusive_group()
    body.add_argument("--body", help="the JSON request body (default: one sample reading)")
    body.add_argument("--body-file", metavar="FILE", help="read the JSON request body from FILE")
    p.add_argument("--url", help="the API's predictions URL (default: the InferenceApiUrl output of the stack)")
    p.add_argument("--timeout", type=float, default=30, help="seconds to wait for the answer (default 30)")


def api_target(cloudformation: Any, apigateway: Any, settings: Settings) -> tuple[str, str | None]:
    """(URL, API key or None) of the deployment's inference API, from its stack outputs."""
    stack = f"{settings.name_prefix}-sagemaker"
    outputs = aws.outputs(aws.deployed_stack(cloudformation, stack))
    if "InferenceApiUrl" not in outputs:
        raise OpsError(f"stack {stack} has no output InferenceApiUrl: deploy it with inference_api.enabled true")
    key = None
    if "InferenceApiKeyId" in outputs:
        key = apigateway.get_api_key(apiKey=outputs["InferenceApiKeyId"], includeValue=True)["value"]
    return outputs["InferenceApiUrl"], key


def signed_request(url: str, body: bytes, credentials: Any, region: str, api_key: str | None) -> urllib.request.Request:
    """A urllib request for POST `url`, signed with SigV4 for execute-api in `region`."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["x-api-key"] = api_key
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    prepared = request.prepare()
    return urllib.request.Request(prepared.url, data=body, headers=dict(prepared.headers.items()), method="POST")


def signing_region(url: str, default: str) -> str:
    """The API's region from its execute-api host name, else `default` (a custom domain or a test server)."""
    match = HOST_REGION.match(urllib.parse.urlsplit(url).hostname or "")
    return match.group(1) if match else default


def _body(args: argparse.Namespace) -> bytes:
    if args.body_file:
        try:
            text = open(args.body_file, encoding="utf-8").read()
        except OSError as error:
            raise UsageError(f"--body-file {args.body_file}: {error.strerror}") from None
    else:
        text = args.body if args.body is not None else json.dumps(SAMPLE_BODY)
    try:
        json.loads(text)
    except ValueError as error:
        raise UsageError(f"the body is not valid JSON ({error}); the API expects {json.dumps(SAMPLE_BODY)}") from None
    return text.encode()


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    body = _body(args)
    session = aws.connect(args.region, args.aws_profile)
    url, api_key = args.url, None
    if url is None:
        settings = deployment_settings(args)
        if not settings.inference_api.enabled:
            raise UsageError(f"{describe_deployment(settings)} has inference_api.enabled false: no API to call")
        try:
            url, api_key = api_target(session.client("cloudformation"), session.client("apigateway"), settings)
        except aws.AWS_ERRORS as error:
            raise aws.failure(error, session) from None
    credentials = session.session.get_credentials().get_frozen_credentials()
    region = signing_region(url, session.region)
    runtime.note(f"POST {url} (SigV4 {SERVICE}, {region})")
    request = signed_request(url, body, credentials, region, api_key)
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as response:  # noqa: S310 - https URL of the API
            runtime.say(response.read().decode())
            return 0
    except urllib.error.HTTPError as error:
        answer = error.read().decode(errors="replace")
        if error.code == 403 and any(text in answer.lower() for text in REJECTED):
            raise NoAwsAccess(f"HTTP 403: the API rejected the credentials: {answer}") from None
        hint = " (your identity needs execute-api:Invoke on the InferenceApiMethodArn output)" if error.code == 403 else ""
        runtime.say(answer)
        runtime.note(f"error: HTTP {error.code}{hint}")
        return EXIT_FAILED
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise OpsError(f"cannot reach {url} ({reason}): check the region, the network (a private API answers "
                       "only inside its VPC) and --url") from None
