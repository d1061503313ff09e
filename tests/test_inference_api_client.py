"""`python -m ops invoke-api`: SigV4 signing checked by a local HTTP server that recomputes the signature
with its own implementation of the algorithm (hashlib/hmac, not botocore), the URL and API key read
from the stack outputs (moto), and the exit codes."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import re
import threading
import urllib.parse

import pytest

from ops import invoke_api
from ops.__main__ import main
from ops.cli import Runtime
from tests.moto_aws import deploy_stack, emulated_aws

QUIET = Runtime(sleep=lambda _: None, tty=False)
KEY_ID, SECRET, TOKEN = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example"
AUTHORIZATION = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[A-Z0-9]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
                           r"(?P<service>[a-z-]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
                           r"Signature=(?P<signature>[0-9a-f]{64})$")


def expected_signature(method: str, path: str, headers: dict[str, str], body: bytes, match: re.Match) -> str:
    """SigV4 as AWS documents it ("Create a signed AWS API request"), written independently of botocore."""
    signed = match["signed"].split(";")
    canonical = "\n".join([method, urllib.parse.quote(path), "",
                           *(f"{name}:{' '.join(headers[name].split())}" for name in signed), "",
                           match["signed"], hashlib.sha256(body).hexdigest()])
    scope = f"{match['date']}/{match['region']}/{match['service']}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", headers["x-amz-date"], scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET).encode()
    for part in (match["date"], match["region"], match["service"], "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def api_server():
    """A stand-in for API Gateway with IAM auth: 403 unless the SigV4 signature verifies, else an answer."""
    seen: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {k.lower(): v for k, v in self.headers.items()}
            match = AUTHORIZATION.match(headers.get("authorization", ""))
            ok = bool(match) and match["key"] == KEY_ID and hmac.compare_digest(
                match["signature"], expected_signature("POST", self.path, headers, body, match))
            seen.append({"headers": headers, "body": body, "match": match})
            status, answer = (200, {"predictions": [[0.9, 0.05, 0.05]]}) if ok else (403, {"message": "Forbidden"})
            if ok and json.loads(body).get("instances") == []:
                status, answer = 400, {"message": "instances must be a non-empty list of objects"}
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/predictions", seen
    server.shutdown()
    thread.join()


@pytest.fixture
def credentials(monkeypatch, tmp_path):
    """Plain static credentials in the environment (no moto): what an application would have."""
    for variable in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_the_request_is_signed_for_execute_api_and_the_server_verifies_it(api_server, credentials, capsys):
    url, seen = api_server
    code = main(["invoke-api", "--url", url, "--region", "eu-west-1"], runtime=QUIET)
    assert code == 0
    assert json.loads(capsys.readouterr().out) == {"predictions": [[0.9, 0.05, 0.05]]}
    (request,) = seen
    match = request["match"]
    assert (match["region"], match["service"]) == ("eu-west-1", "execute-api")
    # The body, the host, the date and the session token are covered by the signature.
    assert {"content-type", "host", "x-amz-date", "x-amz-security-token"} <= set(match["signed"].split(";"))
    assert request["headers"]["x-amz-security-token"] == TOKEN
    assert json.loads(request["body"]) == invoke_api.SAMPLE_BODY


def test_a_tampered_request_fails_the_servers_check(api_server, credentials):
    url, seen = api_server
    request = invoke_api.signed_request(url, b'{"instances": []}', _frozen(), "eu-west-1", None)
    request.data = b'{"instances": [{"temperature_c": 999}]}'  # changed after signing
    request.headers["Content-length"] = str(len(request.data))
    with pytest.raises(Exception) as caught:
        urllib_open(request)
    assert "403" in str(caught.value)


def test_an_api_error_is_printed_and_exits_1(api_server, credentials, capsys):
    url, _ = api_server
    code = main(["invoke-api", "--url", url, "--region", "eu-west-1", "--body", '{"instances": []}'], runtime=QUIET)
    out, err = capsys.readouterr()
    assert code == 1
    assert json.loads(out)["message"].startswith("instances must be a non-empty list")
    assert "HTTP 400" in err


def test_a_body_that_is_not_json_is_a_usage_error(credentials, capsys):
    assert main(["invoke-api", "--url", "http://127.0.0.1:9/x", "--region", "eu-west-1", "--body", "{x"],
                runtime=QUIET) == 2
    assert "the body is not valid JSON" in capsys.readouterr().err


def test_no_credentials_exit_3(monkeypatch, tmp_path, capsys):
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["invoke-api", "--url", "http://127.0.0.1:9/x", "--region", "eu-west-1"], runtime=QUIET) == 3
    assert "no AWS credentials found" in capsys.readouterr().err


def test_unreachable_api_exits_1_with_a_hint(credentials, capsys):
    assert main(["invoke-api", "--url", "http://127.0.0.1:9/v1/predictions", "--region", "eu-west-1",
                 "--timeout", "2"], runtime=QUIET) == 1
    assert "a private API answers only inside its VPC" in capsys.readouterr().err


def test_the_region_comes_from_the_execute_api_host():
    assert invoke_api.signing_region("https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1/predictions",
                                     "us-east-1") == "eu-west-1"
    assert invoke_api.signing_region("https://a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.ap-south-1.amazonaws.com/v1",
                                     "us-east-1") == "ap-south-1"
    assert invoke_api.signing_region("http://127.0.0.1:8080/v1/predictions", "us-east-1") == "us-east-1"


@pytest.fixture
def aws(monkeypatch, tmp_path):
    yield from emulated_aws(monkeypatch, tmp_path)


def test_the_url_and_api_key_come_from_the_stack_outputs(aws, api_server, capsys):
    url, seen = api_server
    key = aws.client("apigateway", region_name="eu-west-1").create_api_key(name="k", value="k" * 30, enabled=True)
    cloudformation = aws.client("cloudformation", region_name="eu-west-1")
    deploy_stack(aws, "mlspec-sbx-sagemaker", {"InferenceApiUrl": url, "InferenceApiKeyId": key["id"]},
                 client=cloudformation)
    code = main(["invoke-api", "--region", "eu-west-1"], runtime=QUIET)
    assert code == 1  # moto's test credentials are not the server's: the signature check fails (403)
    assert seen[0]["headers"]["x-api-key"] == "k" * 30
    assert "x-api-key" in seen[0]["match"]["signed"].split(";")
    assert "execute-api:Invoke on the InferenceApiMethodArn output" in capsys.readouterr().err


def test_a_deployment_without_the_api_output_says_so(aws, capsys):
    deploy_stack(aws, "mlspec-sbx-sagemaker", {"PipelineEndpointName": "x"},
                 client=aws.client("cloudformation", region_name="eu-west-1"))
    assert main(["invoke-api", "--region", "eu-west-1"], runtime=QUIET) == 1
    assert "has no output InferenceApiUrl" in capsys.readouterr().err


def test_a_deployment_with_the_api_turned_off_is_a_usage_error(aws, tmp_path, capsys):
    config = tmp_path / "off.json"
    config.write_text(json.dumps({"profile": "sandbox", "overrides": {"inference_api": {"enabled": False}}}))
    assert main(["invoke-api", "--region", "eu-west-1", "--config", str(config)], runtime=QUIET) == 2
    assert "inference_api.enabled false" in capsys.readouterr().err


def _frozen():
    import botocore.credentials
    return botocore.credentials.ReadOnlyCredentials(KEY_ID, SECRET, None)


def urllib_open(request):
    import urllib.request
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - local test server
        return response.read()
