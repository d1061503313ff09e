"""Launch an XGBoost training job with the SageMaker SDK v3 (ModelTrainer) and the deployed stacks.

Everything the job needs comes from the stacks' outputs (subnets, security group, execution role,
keys, curated bucket, image) and the profile's settings (instance, spot, input mode,
hyperparameters), so the job runs exactly like the Step Functions pipeline's: in the VPC,
network-isolated, inter-container traffic encrypted, KMS on volumes and output.

Usage:
  python -m scripts.train                       # sandbox profile, default AWS credentials and region
  python -m scripts.train --profile prod --region eu-west-1 --wait
  python -m scripts.train --dry-run             # print the CreateTrainingJob request, send nothing
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import os
import sys
from collections.abc import Mapping
from typing import Any

from config.profiles import PROFILES, load_settings
from config.settings import Settings

STACK_OUTPUTS = {
    "data-lake": ("CuratedBucketName", "LakeKeyArn"),
    "ml-network": ("SubnetIds", "WorkloadSecurityGroupId", "MlKeyArn"),
    "sagemaker": ("ExecutionRoleArn", "XgboostImageUri"),
}


class MissingOutput(RuntimeError):
    pass


def stack_outputs(cloudformation, settings: Settings) -> dict[str, str]:
    """The outputs this command needs, from the deployed stacks of `settings.profile`."""
    found: dict[str, str] = {}
    for suffix, keys in STACK_OUTPUTS.items():
        stack = f"{settings.name_prefix}-{suffix}"
        outputs = {o["OutputKey"]: o["OutputValue"]
                   for o in cloudformation.describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])}
        for key in keys:
            if key not in outputs:
                raise MissingOutput(f"stack {stack} has no output {key}: deploy it first (see README)")
            found[key] = outputs[key]
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
    """Answer SageMaker requests made through `boto_session` here, so that none reaches AWS."""
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


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m scripts.train", description=__doc__.splitlines()[0],
                                epilog="\n".join(__doc__.splitlines()[7:11]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=sorted(PROFILES), default="sandbox", help="settings profile (default sandbox)")
    p.add_argument("--region", help="AWS region (default: your AWS configuration)")
    p.add_argument("--job-name", help="base job name (default <prefix>-xgboost)")
    p.add_argument("--wait", action="store_true", help="wait for the job and print its final status")
    p.add_argument("--dry-run", action="store_true",
                   help="print the CreateTrainingJob request built from placeholder outputs; call nothing")
    return p


DRY_RUN_OUTPUTS = {
    "CuratedBucketName": "<curated-bucket>", "LakeKeyArn": "arn:aws:kms:<region>:<account>:key/<lake-key>",
    "SubnetIds": "subnet-<a>,subnet-<b>", "WorkloadSecurityGroupId": "sg-<workload>",
    "MlKeyArn": "arn:aws:kms:<region>:<account>:key/<ml-key>",
    "ExecutionRoleArn": "arn:aws:iam::<account>:role/<execution-role>",
    "XgboostImageUri": "<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:1.7-1",
}


def main(argv: list[str] | None = None, *, boto_session=None) -> int:
    args = parser().parse_args(argv)
    settings = load_settings(args.profile)

    import boto3
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    if args.dry_run:
        boto_session = boto_session or boto3.session.Session(
            region_name=args.region or "us-east-1", aws_access_key_id="dry-run", aws_secret_access_key="dry-run")
        answer_locally(boto_session)
        os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"  # role validation would call IAM
    boto_session = boto_session or boto3.session.Session(region_name=args.region)
    requests = record_requests(boto_session)
    try:
        from sagemaker.core.helper.session_helper import Session

        outputs = DRY_RUN_OUTPUTS if args.dry_run else stack_outputs(boto_session.client("cloudformation"), settings)
        trainer = model_trainer(outputs, settings, Session(boto_session=boto_session), args.job_name)
        trainer.train(wait=args.wait and not args.dry_run, logs=False)
    except NoCredentialsError:
        print("error: no AWS credentials found: configure a profile or export AWS_PROFILE", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError, MissingOutput) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    created = [params for name, params in requests if name == "CreateTrainingJob"]
    if args.dry_run:
        print(json.dumps(created[0], indent=2, default=str))
        print("dry run: nothing was sent", file=sys.stderr)
    else:
        print(f"started training job {created[0]['TrainingJobName']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
