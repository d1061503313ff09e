"""The operator commands' shared entry point (`python -m ops`): help, exit codes, the region and
credentials resolved as the AWS CLI does, and deployment settings files. AWS is moto, in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from ops import aws as ops_aws
from ops.__main__ import main
from ops.cli import EXIT_NO_AWS, NoAwsAccess, Runtime
from tests.lambda_code import PROJECT_ROOT
from tests.moto_aws import deploy_stack, emulated_aws, no_credentials

QUIET = Runtime(sleep=lambda _: None, tty=False)


@pytest.fixture
def aws(monkeypatch, tmp_path):
    yield from emulated_aws(monkeypatch, tmp_path)


def test_help_lists_every_command_with_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("send-events", "train", "smoke", "whoami"):
        assert f"python -m ops {command} " in out
    assert "3  no AWS credentials or no region" in out and "--config FILE" in out


@pytest.mark.parametrize("command", ["send-events", "train", "smoke"])
def test_each_command_s_help_has_examples_and_exit_codes(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    out = capsys.readouterr().out
    assert f"examples:\n  python -m ops {command}" in out
    assert "exit codes:\n  0  success\n  1  a check or an AWS request failed\n  2  usage" in out
    assert "--region" in out and "--aws-profile" in out and "--config FILE" in out


def test_whoami_s_help_has_no_deployment_options(capsys):
    with pytest.raises(SystemExit):
        main(["whoami", "--help"])
    out = capsys.readouterr().out
    assert "examples:\n  python -m ops whoami" in out and "exit codes:\n  0  success" in out
    assert "--environment" in out and "--aws-profile" in out
    assert "--config FILE" not in out and "--profile {" not in out  # neither the options nor DEPLOYMENT_HELP


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err


# ---------------------------------------------------------------- region


def stream_in(session_region: str, aws_session) -> None:
    """The sandbox's streaming stack and stream, in one region only."""
    import boto3

    session = boto3.session.Session(region_name=session_region)
    session.client("kinesis").create_stream(StreamName="mlspec-sbx-sensor-readings", ShardCount=1)
    deploy_stack(session, "mlspec-sbx-streaming", {"StreamName": "mlspec-sbx-sensor-readings"})


@pytest.mark.parametrize(
    ("environment", "argv", "region", "source"),
    [
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"}, ["--region", "ap-south-1"],
         "ap-south-1", "--region"),
        ({"AWS_REGION": "eu-central-1", "AWS_DEFAULT_REGION": "us-west-2"}, [], "eu-central-1", "AWS_REGION"),
        ({"AWS_DEFAULT_REGION": "us-west-2"}, [], "us-west-2", "AWS_DEFAULT_REGION"),
        ({"AWS_PROFILE": "ops"}, [], "ap-southeast-2", "AWS profile ops"),
        ({}, ["--aws-profile", "ops"], "ap-southeast-2", "AWS profile ops"),  # its own credentials
        ({}, [], "sa-east-1", "AWS profile default"),
    ],
)
def test_region_is_resolved_like_the_aws_cli(aws, monkeypatch, capsys, environment, argv, region, source):
    with open(os.environ["AWS_CONFIG_FILE"], "w") as config:
        config.write("[default]\nregion = sa-east-1\n\n[profile ops]\nregion = ap-southeast-2\n")
    with open(os.environ["AWS_SHARED_CREDENTIALS_FILE"], "w") as credentials:
        credentials.write("[ops]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    stream_in(region, aws)  # the stack exists only there: success proves which region was used
    assert main(["send-events", "--count", "2", *argv], runtime=QUIET) == 0
    assert f"in region {region} (from {source})" in capsys.readouterr().err


def test_no_region_anywhere_is_exit_3_with_the_ways_to_set_one(aws, capsys):
    assert main(["send-events", "--count", "1"], runtime=QUIET) == EXIT_NO_AWS
    assert capsys.readouterr().err == (
        "error: no AWS region: pass --region <region>, export AWS_REGION=<region>, or set one in your AWS "
        "profile (`aws configure set region <region>`)\n")


def test_an_unknown_aws_profile_is_exit_3(aws, capsys):
    assert main(["smoke", "--aws-profile", "nope"], runtime=QUIET) == EXIT_NO_AWS
    assert capsys.readouterr().err.startswith("error: --aws-profile=nope names no profile in ~/.aws/config")


# ---------------------------------------------------------------- credentials


@pytest.mark.parametrize("argv", [["send-events"], ["train"], ["smoke"], ["train", "--wait", "--profile", "prod"]])
def test_no_credentials_is_one_line_and_exit_3(aws, monkeypatch, capsys, argv):
    no_credentials(monkeypatch)
    assert main([*argv, "--region", "eu-west-1"], runtime=QUIET) == EXIT_NO_AWS
    out, err = capsys.readouterr()
    assert out == ""
    assert err == ("error: no AWS credentials found (looked in the AWS_* variables, profile default in "
                   "~/.aws/credentials and ~/.aws/config, container and instance roles): set them up once: with "
                   "IAM Identity Center (SSO) `aws configure sso --profile <name>`, then `aws sso login --profile "
                   "<name>` and export AWS_PROFILE=<name>; with access keys `aws configure --profile <name>` and "
                   "export AWS_PROFILE=<name> (or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)\n")


def test_the_real_command_line_shows_no_traceback(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment.update(AWS_CONFIG_FILE=str(tmp_path / "c"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "k"),
                       AWS_EC2_METADATA_DISABLED="true", AWS_REGION="eu-west-1")
    done = subprocess.run([sys.executable, "-m", "ops", "smoke"], cwd=PROJECT_ROOT, env=environment,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == EXIT_NO_AWS
    assert done.stderr.startswith("error: no AWS credentials found (looked in") and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId", "UnrecognizedClientException"])
def test_rejected_credentials_are_exit_3(code):
    error = ClientError({"Error": {"Code": code, "Message": "The security token included in the request is "
                                                              "expired"}}, "GetCallerIdentity")
    failure = ops_aws.failure(error)
    assert isinstance(failure, NoAwsAccess) and failure.exit_code == 3
    assert str(failure).startswith(f"AWS rejected the credentials (An error occurred ({code})")


def test_other_aws_errors_are_exit_1():
    error = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StartJobRun")
    assert ops_aws.failure(error).exit_code == 1


def test_no_message_shows_the_secret(aws, monkeypatch, capsys):
    # Failures of every command: none prints the secret key (moto put it in the environment).
    assert main(["smoke", "--region", "eu-west-1", "--timeout", "0"], runtime=QUIET) == 1
    assert main(["train", "--region", "eu-west-1"], runtime=QUIET) == 1
    out, err = capsys.readouterr()
    assert "not deployed in eu-west-1" in out + err
    assert os.environ["AWS_SECRET_ACCESS_KEY"] not in out + err


# ---------------------------------------------------------------- deployment settings files


@pytest.mark.parametrize(
    ("content", "argv", "message"),
    [
        (None, [], "cannot read the settings file (No such file or directory)"),
        ("{not json", [], "is not valid JSON"),
        ('["sandbox"]', [], "must hold a JSON object"),
        ('{"profile": "sandbox", "name_prefix": "x"}', [], '"name_prefix" is not allowed at the top level'),
        ('{"profile": "staging"}', [], 'profile="staging" is unknown: allowed profiles are prod, sandbox'),
        ('{"profile": "sandbox"}', ["--profile", "prod"], 'profile="prod" contradicts the settings file'),
        ('{"overrides": {"streaming": {"shard_count": 0}}}', [], "streaming.shard_count"),
    ],
)
def test_a_bad_config_file_is_exit_2_naming_the_file(aws, tmp_path, capsys, content, argv, message):
    path = tmp_path / "deploy.json"
    if content is not None:
        path.write_text(content)
    assert main(["smoke", "--config", str(path), "--region", "eu-west-1", *argv], runtime=QUIET) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: Invalid settings")
    assert str(path) in err and message in err


def test_a_config_file_names_the_stacks(aws, tmp_path, capsys):
    path = tmp_path / "deploy.json"
    path.write_text(json.dumps({"profile": "prod", "overrides": {"name_prefix": "acme-prod"}}))
    assert main(["smoke", "--config", str(path), "--region", "eu-west-1"], runtime=QUIET) == 1
    out, err = capsys.readouterr()
    assert "smoke test of deployment acme-prod (profile prod), region eu-west-1 (from --region)" in err
    assert "stack acme-prod-data-lake is not deployed in eu-west-1" in out


def test_the_package_documents_the_same_exit_codes():
    import ops
    from ops.cli import EXIT_CODES_HELP

    assert EXIT_CODES_HELP.split("\n", 1)[1] in ops.__doc__


def test_an_aws_profile_given_as_profile_is_pointed_to_aws_profile(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["smoke", "--profile", "myaws"])
    assert exit_.value.code == 2
    assert "for an AWS named profile use --aws-profile myaws or export AWS_PROFILE=myaws" in capsys.readouterr().err
