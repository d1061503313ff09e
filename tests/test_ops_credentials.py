"""`python -m ops whoami`, the credentials check that `make diff|deploy|destroy|bootstrap-account` run
before the CDK CLI: the identity, the region in the AWS CLI's order, and one message per problem.
AWS is moto, in-process; a local HTTP server plays an STS that rejects the credentials."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading

import pytest

from ops.__main__ import main
from ops.cli import EXIT_FAILED, EXIT_NO_AWS, Runtime
from tests.lambda_code import PROJECT_ROOT
from tests.moto_aws import emulated_aws, no_credentials

MOTO_ACCOUNT = "123456789012"
QUIET = Runtime(sleep=lambda _: None, tty=False)
EXPIRED = (b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
           b"<Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message>"
           b"</Error><RequestId>1</RequestId></ErrorResponse>")


@pytest.fixture
def aws(monkeypatch, tmp_path):
    yield from emulated_aws(monkeypatch, tmp_path)


def one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    return err


def test_an_identity_prints_account_and_region_and_the_bootstrap_environment(aws, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert main(["whoami"], runtime=QUIET) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"AWS account {MOTO_ACCOUNT} as arn:aws:sts::{MOTO_ACCOUNT}:")
    assert out.endswith(", region eu-west-1 (from AWS_REGION)\n")
    assert main(["whoami", "--environment"], runtime=QUIET) == 0
    assert capsys.readouterr().out == f"aws://{MOTO_ACCOUNT}/eu-west-1\n"


@pytest.mark.parametrize(
    ("variables", "argv", "region", "source"),
    [
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, ["--region", "ca-central-1"],
         "ca-central-1", "--region"),
        ({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-east-2"}, [], "eu-west-1", "AWS_REGION"),
        ({"AWS_DEFAULT_REGION": "us-east-2"}, [], "us-east-2", "AWS_DEFAULT_REGION"),
        ({"AWS_PROFILE": "ops"}, [], "ap-southeast-2", "AWS profile ops"),
        ({}, [], "ap-south-1", "AWS profile default"),
    ],
)
def test_the_region_is_resolved_like_the_aws_cli(aws, monkeypatch, capsys, variables, argv, region, source):
    with open(os.environ["AWS_CONFIG_FILE"], "w") as config:
        config.write("[default]\nregion = ap-south-1\n\n[profile ops]\nregion = ap-southeast-2\n")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["whoami", *argv], runtime=QUIET) == 0
    assert capsys.readouterr().out.endswith(f", region {region} (from {source})\n")
    assert main(["whoami", "--environment", *argv], runtime=QUIET) == 0
    assert capsys.readouterr().out == f"aws://{MOTO_ACCOUNT}/{region}\n"


def test_no_credentials_says_how_to_set_them_up(aws, monkeypatch, capsys):
    no_credentials(monkeypatch)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert main(["whoami", "--environment"], runtime=QUIET) == EXIT_NO_AWS  # nothing for `cdk bootstrap`
    message = one_error_line(capsys)
    assert message.startswith("error: no AWS credentials found (looked in the AWS_* variables, profile default ")
    for setup in ("`aws configure sso --profile <name>`", "`aws sso login --profile <name>`",
                  "`aws configure --profile <name>`", "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        assert setup in message
    assert "region" not in message


def test_no_credentials_and_no_region_names_both(aws, monkeypatch, capsys):
    no_credentials(monkeypatch)
    assert main(["whoami"], runtime=QUIET) == EXIT_NO_AWS
    message = one_error_line(capsys)
    assert message.startswith("error: no AWS credentials found")
    assert "; no AWS region either: pass --region <region>, export AWS_REGION=<region>" in message


def test_no_region_says_how_to_set_it(aws, capsys):
    assert main(["whoami"], runtime=QUIET) == EXIT_NO_AWS
    assert one_error_line(capsys) == (
        "error: no AWS region: pass --region <region>, export AWS_REGION=<region>, or set one in your AWS "
        "profile (`aws configure set region <region>`)\n")


@pytest.mark.parametrize("region", [None, "eu-west-1"])  # the profile is read for the region, or for credentials
@pytest.mark.parametrize(("variables", "argv", "origin", "fix"), [
    ({"AWS_PROFILE": "nope"}, [], "AWS_PROFILE", "fix or unset it (`aws configure list-profiles` lists them)"),
    ({}, ["--aws-profile", "nope"], "--aws-profile", "fix it (`aws configure list-profiles` lists them)"),
])
def test_an_unknown_profile_is_named(aws, monkeypatch, capsys, region, variables, argv, origin, fix):
    for name, value in {**variables, **({"AWS_REGION": region} if region else {})}.items():
        monkeypatch.setenv(name, value)
    assert main(["whoami", *argv], runtime=QUIET) == EXIT_NO_AWS
    assert one_error_line(capsys).startswith(
        f"error: {origin}=nope names no profile in ~/.aws/config or ~/.aws/credentials: {fix}, or create it: with IAM Identity Center (SSO)")


@pytest.fixture
def expired_sts(aws, monkeypatch):
    """STS (a local HTTP server, reached through AWS_ENDPOINT_URL_STS) that answers ExpiredToken."""

    class ExpiredToken(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(403)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(EXPIRED)))
            self.end_headers()
            self.wfile.write(EXPIRED)

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), ExpiredToken)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{server.server_port}")
    yield
    server.shutdown()
    server.server_close()


def test_expired_credentials_are_exit_3_with_how_to_log_in_again(expired_sts, monkeypatch, capsys):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert main(["whoami"], runtime=QUIET) == EXIT_NO_AWS
    message = one_error_line(capsys)
    assert message.startswith("error: AWS rejected the credentials (An error occurred (ExpiredToken) when calling "
                              "the GetCallerIdentity operation: The security token included in the request is expired)")
    assert "log in again (`aws sso login --profile <name>`) or renew the access keys" in message


def test_unreachable_sts_names_the_region_and_its_source(aws, monkeypatch, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    assert main(["whoami"], runtime=QUIET) == EXIT_FAILED
    message = one_error_line(capsys)
    assert message.startswith("error: cannot reach AWS in region eu-west-3 (from AWS_DEFAULT_REGION) (Could not "
                              f'connect to the endpoint URL: "http://127.0.0.1:{port}/")')
    assert message.endswith(": check the region name and the network or proxy\n")


def test_make_diff_stops_at_the_credentials_check(tmp_path):
    """The real target: one clear message, and the CDK CLI never runs ("Unable to resolve AWS account")."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") or k == "AWS_CA_BUNDLE"}
    env.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="eu-west-1")
    result = subprocess.run(["make", "--no-print-directory", "diff"], cwd=PROJECT_ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode != 0
    assert "error: no AWS credentials found" in result.stderr
    assert f"credentials] Error {EXIT_NO_AWS}" in result.stderr  # make names the target and the exit code
    assert "node_modules/.bin/cdk" not in result.stdout + result.stderr  # make echoes the CLI call it runs


def test_an_sso_profile_without_a_login_says_to_log_in(aws, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))  # no SSO token cache (~/.aws/sso/cache)
    with open(os.environ["AWS_CONFIG_FILE"], "w") as config:
        config.write("[profile dev]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1\n"
                     "sso_account_id = 111111111111\nsso_role_name = Developer\nregion = eu-west-1\n")
    assert main(["whoami", "--aws-profile", "dev"], runtime=QUIET) == EXIT_NO_AWS
    message = one_error_line(capsys)
    assert message.startswith("error: AWS credentials could not be used (Error loading SSO Token")
    assert "log in again (`aws sso login --profile <name>`)" in message
