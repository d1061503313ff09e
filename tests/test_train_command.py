"""`python -m ops train`: the training job it creates (SageMaker SDK v3 ModelTrainer) from the stack
outputs and the settings, in a SageMaker emulated in-process by moto; and how --wait follows it."""

from __future__ import annotations

import json

import pytest
from moto.sagemaker.models import FakeTrainingJob

from config.profiles import load_settings
from ops.__main__ import main
from ops.cli import Runtime
from tests.moto_aws import REGION, deploy_stack, emulated_aws

CURATED = "mlspec-sbx-curated-123456789012-eu-west-1"
OUTPUTS = {
    "data-lake": {"CuratedBucketName": CURATED, "LakeKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/lake"},
    "ml-network": {"SubnetIds": "subnet-0a,subnet-0b", "WorkloadSecurityGroupId": "sg-0w",
                   "MlKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/ml"},
    "sagemaker": {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec",
                  "XgboostImageUri": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
}


@pytest.fixture
def aws(monkeypatch, tmp_path):
    yield from emulated_aws(monkeypatch, tmp_path)


@pytest.fixture(autouse=True)
def no_role_validation(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # the SDK would simulate the role's policies in IAM


def deploy(session, prefix="mlspec-sbx", outputs=OUTPUTS) -> None:
    for suffix, values in outputs.items():
        deploy_stack(session, f"{prefix}-{suffix}", values)


def training_jobs(session) -> list[dict]:
    sagemaker = session.client("sagemaker")
    return [sagemaker.describe_training_job(TrainingJobName=job["TrainingJobName"])
            for job in sagemaker.list_training_jobs()["TrainingJobSummaries"]]


class PlayedJob:
    """moto ends every training job at once; this plays a real job's status changes instead, one per
    poll, and keeps the fake time the command sees."""

    def __init__(self, monkeypatch, states):
        self.states, self.job, self.now, self.waits = list(states), None, 0.0, []
        create = FakeTrainingJob.__init__

        def created(job, *args, **kwargs):
            create(job, *args, **kwargs)
            self.job = job
            self.next()

        monkeypatch.setattr(FakeTrainingJob, "__init__", created)

    def next(self):
        status, secondary, message, *reason = self.states.pop(0)
        self.job.training_job_status, self.job.secondary_status = status, secondary
        self.job.secondary_status_transitions = [{"Status": secondary, "StatusMessage": message,
                                                  "StartTime": self.job.creation_time}]
        if reason:
            self.job.failure_reason = reason[0]

    def sleep(self, seconds):
        self.waits.append(seconds)
        self.now += seconds
        if self.states:
            self.next()

    def runtime(self) -> Runtime:
        return Runtime(sleep=self.sleep, clock=lambda: self.now, tty=False)


def test_creates_the_pipeline_s_training_job(aws, capsys):
    deploy(aws)
    assert main(["train", "--region", REGION]) == 0
    (job,) = training_jobs(aws)
    ml = load_settings("sandbox").sagemaker
    assert job["TrainingJobName"].startswith("mlspec-sbx-xgboost-")
    assert job["RoleArn"] == "arn:aws:iam::123456789012:role/exec"
    assert job["AlgorithmSpecification"]["TrainingImage"] == OUTPUTS["sagemaker"]["XgboostImageUri"]
    assert job["AlgorithmSpecification"]["TrainingInputMode"] == "File"
    assert job["VpcConfig"] == {"SecurityGroupIds": ["sg-0w"], "Subnets": ["subnet-0a", "subnet-0b"]}
    assert job["EnableNetworkIsolation"] is True and job["EnableInterContainerTrafficEncryption"] is True
    assert job["ResourceConfig"] == {"InstanceType": ml.training_instance_type, "InstanceCount": 1,
                                     "VolumeSizeInGB": ml.training_volume_gb,
                                     "VolumeKmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/ml"}
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{CURATED}/models/"
    assert job["OutputDataConfig"]["KmsKeyId"] == "arn:aws:kms:eu-west-1:123456789012:key/lake"
    assert [c["DataSource"]["S3DataSource"]["S3Uri"] for c in job["InputDataConfig"]] == [
        f"s3://{CURATED}/{ml.training_data_prefix}{channel}/" for channel in ("train", "validation")]
    assert job["HyperParameters"] == dict(ml.xgboost_hyperparameters)
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert job["CheckpointConfig"]["S3Uri"] == f"s3://{CURATED}/checkpoints/"
    out, err = capsys.readouterr()
    assert out == f"started training job {job['TrainingJobName']}\n"
    assert f"deployment mlspec-sbx (profile sandbox), region {REGION} (from --region)" in err


def test_prod_trains_on_demand_without_checkpoints(aws):
    deploy(aws, "mlspec-prod")
    assert main(["train", "--profile", "prod", "--region", REGION]) == 0
    (job,) = training_jobs(aws)
    assert job["TrainingJobName"].startswith("mlspec-prod-xgboost-")
    assert job.get("EnableManagedSpotTraining", False) is False
    assert "CheckpointConfig" not in job
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"


def test_a_config_file_selects_the_deployment_and_its_settings(aws, tmp_path):
    deploy(aws, "acme-dev")
    config = tmp_path / "deploy.json"
    config.write_text(json.dumps({"profile": "sandbox", "overrides": {
        "name_prefix": "acme-dev", "sagemaker": {"training_instance_type": "ml.m5.2xlarge"}}}))
    assert main(["train", "--config", str(config), "--job-name", "nightly", "--region", REGION]) == 0
    (job,) = training_jobs(aws)
    assert job["TrainingJobName"].startswith("nightly-")
    assert job["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"


def test_dry_run_prints_the_request_and_sends_nothing(capsys):
    assert main(["train", "--dry-run"]) == 0
    out, err = capsys.readouterr()
    request = json.loads(out)
    assert request["VpcConfig"]["Subnets"] == ["subnet-<a>", "subnet-<b>"]
    assert request["ResourceConfig"]["InstanceType"] == load_settings("sandbox").sagemaker.training_instance_type
    assert "dry run: nothing was sent" in err


def test_a_missing_stack_is_a_clear_error_and_nothing_starts(aws, capsys):
    assert main(["train", "--region", REGION]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"error: stack mlspec-sbx-data-lake is not deployed in {REGION}: deploy it (README, Deploy guide) "
        "or check --region and --profile/--config")
    assert training_jobs(aws) == []


def test_a_missing_output_is_a_clear_error(aws, capsys):
    deploy(aws, outputs={**OUTPUTS, "sagemaker": {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec"}})
    assert main(["train", "--region", REGION]) == 1
    assert "error: stack mlspec-sbx-sagemaker has no output XgboostImageUri: deploy it first" in capsys.readouterr().err
    assert training_jobs(aws) == []


def test_bad_arguments_get_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--profile", "staging"])
    assert exit_info.value.code == 2
    assert "argument --profile: 'staging' is not a settings profile (use prod or sandbox)" in capsys.readouterr().err


# ---------------------------------------------------------------- --wait


def test_wait_shows_each_status_change_with_the_elapsed_time(aws, monkeypatch, capsys):
    deploy(aws)
    played = PlayedJob(monkeypatch, [
        ("InProgress", "Starting", "Preparing the instances for training"),
        ("InProgress", "Starting", "Preparing the instances for training"),
        ("InProgress", "Downloading", "Downloading input data"),
        ("InProgress", "Training", "Training image download completed. Training in progress."),
        ("InProgress", "Training", "Training image download completed. Training in progress."),
        ("Completed", "Completed", "Training job completed"),
    ])
    assert main(["train", "--wait", "--region", REGION], runtime=played.runtime()) == 0
    name = played.job.training_job_name
    assert capsys.readouterr().out.splitlines() == [
        f"started training job {name}",
        " 0:00:00  InProgress / Starting: Preparing the instances for training",
        " 0:01:00  InProgress / Downloading: Downloading input data",
        " 0:01:30  InProgress / Training: Training image download completed. Training in progress.",
        " 0:02:30  Completed / Completed: Training job completed",
        f"training job {name} completed: model s3://{CURATED}/models/{name}/output/model.tar.gz",
    ]
    assert played.waits == [30] * 5


def test_wait_fails_with_the_job_s_failure_reason(aws, monkeypatch, capsys):
    deploy(aws)
    played = PlayedJob(monkeypatch, [
        ("InProgress", "Starting", "Preparing the instances for training"),
        ("Failed", "Failed", "Training job failed",
         "ClientError: Data download failed: no object under s3://.../training/sensor_readings/train/"),
    ])
    assert main(["train", "--wait", "--region", REGION], runtime=played.runtime()) == 1
    out, err = capsys.readouterr()
    assert " 0:00:30  Failed / Failed: Training job failed" in out
    assert err.splitlines()[-1] == (
        f"error: training job {played.job.training_job_name} Failed: ClientError: Data download failed: "
        "no object under s3://.../training/sensor_readings/train/")
