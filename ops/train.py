"""Launch an XGBoost training job with the SageMaker SDK v3 (ModelTrainer) and the deployed stacks.

Everything the job needs comes from the stacks' outputs (subnets, security group, execution role,
keys, curated bucket, image) and the deployment's settings (instance, spot, input mode,
hyperparameters), so the job runs exactly like the Step Functions pipeline's: in the VPC,
network-isolated, inter-container traffic encrypted, KMS on volumes and output. With --wait it
follows the job, printing each status change with the elapsed time, and fails if the job fails.
The job registers nothing in the model registry and deploys nothing: the Step Functions pipeline
(`python -m ops smoke --train`, or start TrainingPipelineArn) trains, registers and, once the
package is approved (`python -m ops approve`), deploys.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
from collections.abc import Mapping
from typing import Any

from config.settings import Settings
from ops import aws
from ops.cli import (
    OpsError,
    Runtime,
    add_aws_options,
    add_deployment_options,
    deployment_settings,
    describe_deployment,
)

NAME = "train"
EXAMPLES = """examples:
  python -m ops train --dry-run                                # print the request; no AWS call
  python -m ops train --wait                                   # follow the job to its end
  python -m ops train --profile prod --region eu-west-1 --wait
  python -m ops train --config deployments/example.json --job-name nightly"""

STACK_OUTPUTS = {
    "data-lake": ("CuratedBucketName", "LakeKeyArn"),
    "ml-network": ("SubnetIds", "WorkloadSecurityGroupId", "MlKeyArn"),
    "sagemaker": ("ExecutionRoleArn", "XgboostImageUri"),
}
FINISHED = ("Completed", "Failed", "Stopped")
POLL_SECONDS = 30


def stack_outputs(cloudformation, settings: Settings) -> dict[str, str]:
    """The outputs this command needs, from the deployed stacks of the deployment."""
    found: dict[str, str] = {}
    for suffix, keys in STACK_OUTPUTS.items():
        stack = f"{settings.name_prefix}-{suffix}"
        values = aws.outputs(aws.deployed_stack(cloudformation, stack))
        for key in keys:
            if key not in values:
                raise OpsError(f"stack {stack} has no output {key}: deploy it first (README, Deploy guide)")
            found[key] = values[key]
    return found


def model_trainer(outputs: Mapping[str, str], settings: Settings, session: Any, job_name: str | None = None):
    """The ModelTrainer for one training run, from stack outputs and settings."""
    from sagemaker.core.training.configs import (
        CheckpointConfig,
        Compute,
        InputData,
        Networking,
        OutputDataConfig,
        StoppingCondition,
    )
    from sagemaker.train import ModelTrainer

    ml = settings.sagemaker
    curated = f"s3://{outputs['CuratedBucketName']}"
    spot = ml.managed_spot_training
    return ModelTrainer(
        sagemaker_session=session,
        role=outputs["ExecutionRoleArn"],
        base_job_name=job_name or f"{settings.name_prefix}-xgboost",
        training_image=outputs["XgboostImageUri"],
        training_input_mode=ml.training_input_mode,
        hyperparameters=dict(ml.xgboost_hyperparameters),
        compute=Compute(instance_type=ml.training_instance_type, instance_count=ml.training_instance_count,
                        volume_size_in_gb=ml.training_volume_gb, volume_kms_key_id=outputs["MlKeyArn"],
                        enable_managed_spot_training=spot),
        networking=Networking(subnets=outputs["SubnetIds"].split(","),
                              security_group_ids=[outputs["WorkloadSecurityGroupId"]],
                              enable_network_isolation=True, enable_inter_container_traffic_encryption=True),
        stopping_condition=StoppingCondition(
            max_runtime_in_seconds=ml.training_max_runtime_minutes * 60,
            max_wait_time_in_seconds=ml.spot_max_wait_minutes * 60 if spot else None),
        output_data_config=OutputDataConfig(s3_output_path=f"{curated}/models/", kms_key_id=outputs["LakeKeyArn"]),
        checkpoint_config=CheckpointConfig(s3_uri=f"{curated}/checkpoints/") if spot else None,
        input_data_config=[
            InputData(channel_name=channel, data_source=f"{curated}/{ml.training_data_prefix}{channel}/",
                      content_type="text/csv")
            for channel in ("train", "validation")
        ],
    )


def record_requests(boto_session) -> list[tuple[str, dict]]:
    """Record every SageMaker request (operation, parameters) made through `boto_session`."""
    sent: list[tuple[str, dict]] = []

    def record(model, params, **_):
        sent.append((model.name, copy.deepcopy(params)))

    boto_session.events.register("before-parameter-build.sagemaker.*", record)
    return sent


def answer_locally(boto_session) -> None:
    """Answer SageMaker requests made through `boto_session` here, so that none reaches AWS (--dry-run)."""
    from botocore.awsrequest import AWSResponse

    def answer(model, params, **_):
        name = json.loads(params["body"]).get("TrainingJobName", "dry-run") if params.get("body") else "dry-run"
        arn = f"arn:aws:sagemaker:us-east-1:000000000000:training-job/{name}"
        answers = {
            "CreateTrainingJob": {"TrainingJobArn": arn},
            "DescribeTrainingJob": {
                "TrainingJobName": name, "TrainingJobArn": arn, "TrainingJobStatus": "InProgress",
                "SecondaryStatus": "Starting", "AlgorithmSpecification": {"TrainingInputMode": "File"},
                "ModelArtifacts": {"S3ModelArtifacts": ""}, "StoppingCondition": {},
                "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
            },
        }
        return AWSResponse(None, 200, {}, None), answers.get(model.name, {})

    boto_session.events.register("before-call.sagemaker.*", answer)


def elapsed(seconds: float) -> str:
    return str(datetime.timedelta(seconds=int(seconds)))


def follow(sagemaker, name: str, runtime: Runtime, poll_seconds: int = POLL_SECONDS) -> dict[str, Any]:
    """Poll the job until it ends, printing each status change with the elapsed time."""
    started, seen = runtime.clock(), None
    while True:
        job = sagemaker.describe_training_job(TrainingJobName=name)
        state = (job["TrainingJobStatus"], job.get("SecondaryStatus", ""))
        if state != seen:
            transitions = job.get("SecondaryStatusTransitions") or [{}]
            message = transitions[-1].get("StatusMessage", "")
            runtime.say(f"{elapsed(runtime.clock() - started):>8}  {state[0]} / {state[1]}"
                        + (f": {message}" if message else ""))
            seen = state
        if state[0] in FINISHED:
            return job
        runtime.sleep(poll_seconds)


DRY_RUN_OUTPUTS = {
    "CuratedBucketName": "<curated-bucket>", "LakeKeyArn": "arn:aws:kms:<region>:<account>:key/<lake-key>",
    "SubnetIds": "subnet-<a>,subnet-<b>", "WorkloadSecurityGroupId": "sg-<workload>",
    "MlKeyArn": "arn:aws:kms:<region>:<account>:key/<ml-key>",
    "ExecutionRoleArn": "arn:aws:iam::<account>:role/<execution-role>",
    "XgboostImageUri": "<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_deployment_options(p)
    add_aws_options(p)
    p.add_argument("--job-name", help="base job name (default <name_prefix>-xgboost)")
    p.add_argument("--wait", action="store_true", help="follow the job to its end; exit 1 if it fails or stops")
    p.add_argument("--dry-run", action="store_true",
                   help="print the CreateTrainingJob request built from placeholder outputs; call nothing")


def run(args: argparse.Namespace, runtime: Runtime) -> int:
    settings = deployment_settings(args)
    import boto3

    if args.dry_run:
        boto_session = boto3.session.Session(region_name=args.region or "us-east-1",
                                             aws_access_key_id="dry-run", aws_secret_access_key="dry-run")
        answer_locally(boto_session)
        os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"  # role validation would call IAM
        outputs = DRY_RUN_OUTPUTS
    else:
        session = aws.connect(args.region, args.aws_profile)
        boto_session = session.session
        runtime.note(f"{describe_deployment(settings)}, {session.describe()}")
        outputs = stack_outputs(boto_session.client("cloudformation"), settings)
    from sagemaker.core.helper.session_helper import Session

    requests = record_requests(boto_session)
    model_trainer(outputs, settings, Session(boto_session=boto_session), args.job_name).train(wait=False, logs=False)
    (created,) = [params for name, params in requests if name == "CreateTrainingJob"]
    if args.dry_run:
        runtime.say(json.dumps(created, indent=2, default=str))
        runtime.note("dry run: nothing was sent")
        return 0
    name = created["TrainingJobName"]
    runtime.say(f"started training job {name}")
    if not args.wait:
        return 0
    job = follow(boto_session.client("sagemaker"), name, runtime)
    if job["TrainingJobStatus"] != "Completed":
        raise OpsError(f"training job {name} {job['TrainingJobStatus']}: {job.get('FailureReason', 'no reason given')}")
    runtime.say(f"training job {name} completed: model {job['ModelArtifacts']['S3ModelArtifacts']}")
    return 0
