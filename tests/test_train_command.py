"""The operator command: the exact CreateTrainingJob request it sends, built with the SageMaker SDK
v3 ModelTrainer from stack outputs and settings, checked offline."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from config.profiles import load_settings
from scripts import train

OUTPUTS = {
    "mlspec-sbx-data-lake": {"CuratedBucketName": "mlspec-sbx-curated-123456789012-eu-west-1",
                             "LakeKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/lake"},
    "mlspec-sbx-ml-network": {"SubnetIds": "subnet-0a,subnet-0b", "WorkloadSecurityGroupId": "sg-0w",
                              "MlKeyArn": "arn:aws:kms:eu-west-1:123456789012:key/ml"},
    "mlspec-sbx-sagemaker": {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec",
                             "XgboostImageUri": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
}


def offline_session(outputs=OUTPUTS):
    """A boto3 session whose CloudFormation answers from `outputs` and whose SageMaker answers
    locally; every request is recorded, nothing leaves the machine."""
    session = boto3.session.Session(region_name="eu-west-1", aws_access_key_id="testing",
                                    aws_secret_access_key="testing")

    def describe_stacks(model, params, **_):
        stack = params["body"]["StackName"]
        if stack not in outputs:
            return AWSResponse(None, 400, {}, None), {"Error": {"Code": "ValidationError",
                                                               "Message": f"Stack with id {stack} does not exist"},
                                                     "ResponseMetadata": {"HTTPStatusCode": 400}}
        return AWSResponse(None, 200, {}, None), {"Stacks": [{
            "StackName": stack, "CreationTime": "2026-11-21T00:00:00Z", "StackStatus": "CREATE_COMPLETE",
            "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs[stack].items()]}]}

    session.events.register("before-call.cloudformation.DescribeStacks", describe_stacks)
    train.answer_locally(session)
    return session, train.record_requests(session)


@pytest.fixture(autouse=True)
def no_role_simulation(monkeypatch):
    monkeypatch.setenv("SAGEMAKER_VALIDATE_ROLE", "false")  # it would call IAM


def created(requests) -> dict:
    (request,) = [params for name, params in requests if name == "CreateTrainingJob"]
    return request


def test_sends_the_pipeline_s_training_request(capsys):
    session, requests = offline_session()
    assert train.main(["--profile", "sandbox"], boto_session=session) == 0
    request = created(requests)
    ml = load_settings("sandbox").sagemaker
    assert request["TrainingJobName"].startswith("mlspec-sbx-xgboost-")
    assert request["RoleArn"] == "arn:aws:iam::123456789012:role/exec"
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
        "TrainingInputMode": "File"}
    assert request["VpcConfig"] == {"SecurityGroupIds": ["sg-0w"], "Subnets": ["subnet-0a", "subnet-0b"]}
    assert request["EnableNetworkIsolation"] is True and request["EnableInterContainerTrafficEncryption"] is True
    assert request["ResourceConfig"] == {"InstanceType": ml.training_instance_type, "InstanceCount": 1,
                                         "VolumeSizeInGB": ml.training_volume_gb,
                                         "VolumeKmsKeyId": "arn:aws:kms:eu-west-1:123456789012:key/ml"}
    assert request["OutputDataConfig"]["S3OutputPath"] == "s3://mlspec-sbx-curated-123456789012-eu-west-1/models/"
    assert request["OutputDataConfig"]["KmsKeyId"] == "arn:aws:kms:eu-west-1:123456789012:key/lake"
    assert [c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]] == [
        f"s3://mlspec-sbx-curated-123456789012-eu-west-1/{ml.training_data_prefix}{channel}/"
        for channel in ("train", "validation")]
    assert request["HyperParameters"] == dict(ml.xgboost_hyperparameters)
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 7200}
    assert request["CheckpointConfig"]["S3Uri"] == "s3://mlspec-sbx-curated-123456789012-eu-west-1/checkpoints/"
    assert f"started training job {request['TrainingJobName']}" in capsys.readouterr().out


def test_prod_trains_on_demand_without_checkpoints():
    outputs = {k.replace("mlspec-sbx", "mlspec-prod"): v for k, v in OUTPUTS.items()}
    session, requests = offline_session(outputs)
    assert train.main(["--profile", "prod"], boto_session=session) == 0
    request = created(requests)
    assert "EnableManagedSpotTraining" not in request or request["EnableManagedSpotTraining"] is False
    assert "CheckpointConfig" not in request
    assert request["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"


def test_dry_run_prints_the_request_and_sends_nothing(capsys):
    assert train.main(["--dry-run"]) == 0
    out, err = capsys.readouterr()
    request = json.loads(out)
    assert request["VpcConfig"]["Subnets"] == ["subnet-<a>", "subnet-<b>"]
    assert "dry run: nothing was sent" in err


def test_a_missing_stack_is_a_clear_error(capsys):
    session, requests = offline_session({})
    assert train.main(["--profile", "sandbox"], boto_session=session) == 1
    assert "Stack with id mlspec-sbx-data-lake does not exist" in capsys.readouterr().err
    assert requests == []


def test_a_missing_output_is_a_clear_error(capsys):
    outputs = {**OUTPUTS, "mlspec-sbx-sagemaker": {"ExecutionRoleArn": "arn:aws:iam::123456789012:role/exec"}}
    session, _ = offline_session(outputs)
    assert train.main(["--profile", "sandbox"], boto_session=session) == 1
    assert "stack mlspec-sbx-sagemaker has no output XgboostImageUri: deploy it first" in capsys.readouterr().err


def test_bad_arguments_get_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["--profile", "staging"])
    assert exit_info.value.code == 2
    assert "argument --profile: invalid choice: 'staging'" in capsys.readouterr().err
