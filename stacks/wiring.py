"""Settings -> pattern props that more than one stack needs: which interface endpoints the
deployed consumers use, and which model artifacts outside the lake the ML stacks must read."""

from __future__ import annotations

from aws_cdk import Aws

from config.settings import Settings

# Training, hosting (and later batch transform and monitoring) run with network isolation: SageMaker
# moves data and artifacts through the VPC's S3 gateway endpoint and pulls its built-in images and
# writes logs and metrics from its own network, so they need no interface endpoint. A notebook in
# the VPC calls the AWS APIs itself.
NOTEBOOK_ENDPOINTS = {
    "sagemaker.api": "explore jobs and models with the SDK",
    "sagemaker.runtime": "invoke endpoints",
    "sts": "the SDK resolves its role and region",
    "states": "start the training pipeline",
}


def interface_endpoint_consumers(settings: Settings) -> dict[str, tuple[str, ...]]:
    """Interface endpoint -> who uses it, for exactly the consumers these settings deploy."""
    consumers: dict[str, list[str]] = {}
    if settings.sagemaker.notebook_enabled:
        for service, why in NOTEBOOK_ENDPOINTS.items():
            consumers.setdefault(service, []).append(f"notebook ({why})")
    if settings.inference_api.enabled:
        consumers.setdefault("sagemaker.runtime", []).append("inference API (its Lambda calls InvokeEndpoint)")
        if settings.inference_api.private:
            consumers.setdefault("execute-api", []).append("private inference API (callers in the VPC)")
    for service in settings.network.extra_interface_endpoints:
        consumers.setdefault(service, []).append("your workloads (network.extra_interface_endpoints)")
    return {service: tuple(who) for service, who in sorted(consumers.items())}


def model_artifacts(settings: Settings) -> tuple[str, ...]:
    """Every model artifact the hosted endpoint is configured with (s3:// URIs), in order, once."""
    ml = settings.sagemaker
    if ml.model_artifact is None:
        return ()
    uris = [ml.model_artifact, *(v.model_artifact for v in ml.endpoint_variants if v.model_artifact)]
    return tuple(dict.fromkeys(uris))


def s3_object_arn(uri: str) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{uri.removeprefix('s3://')}"
