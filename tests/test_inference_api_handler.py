"""The inference API's handler on API Gateway's REST proxy event (payload format 1.0, as documented in
"Input format of a Lambda function for proxy integration"), with sagemaker-runtime stubbed by botocore.

The feature list is the one the stack gives the function (the schema's features), and the CSV row the
endpoint receives is compared with a literal: the training CSV's feature order, -1 for a missing value.
"""

from __future__ import annotations

import base64
import copy
import json

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from patterns.inference_api import features_from_schema
from stacks.sensor_dataset import MISSING_FEATURE_VALUE, MODEL_FEATURES, SCHEMA_FILE
from tests.lambda_code import load

ENDPOINT = "mlspec-sbx-pipeline-endpoint"

# The documented v1 proxy event of a REST API with IAM authorization (ids and keys made up).
EVENT = {
    "resource": "/predictions",
    "path": "/predictions",
    "httpMethod": "POST",
    "headers": {"Content-Type": "application/json", "Host": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
                "X-Amz-Date": "20261124T100000Z", "X-Amzn-Trace-Id": "Root=1-6742f9a0-0123456789abcdef01234567"},
    "multiValueHeaders": {"Content-Type": ["application/json"]},
    "queryStringParameters": None,
    "multiValueQueryStringParameters": None,
    "pathParameters": None,
    "stageVariables": None,
    "requestContext": {
        "accountId": "111122223333", "apiId": "a1b2c3d4e5", "domainName": "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com",
        "domainPrefix": "a1b2c3d4e5", "extendedRequestId": "BxYz1FakeId=", "httpMethod": "POST",
        "identity": {"accessKey": "ASIAEXAMPLEKEY000000", "accountId": "111122223333", "caller": "AROAEXAMPLE:app",
                     "cognitoAuthenticationProvider": None, "cognitoAuthenticationType": None,
                     "cognitoIdentityId": None, "cognitoIdentityPoolId": None, "principalOrgId": None,
                     "sourceIp": "203.0.113.7", "user": "AROAEXAMPLE:app",
                     "userAgent": "python-urllib/3.11", "userArn": "arn:aws:sts::111122223333:assumed-role/app/app",
                     "vpceId": None, "vpcId": None, "clientCert": None},
        "path": "/v1/predictions", "protocol": "HTTP/1.1", "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
        "requestTime": "24/Nov/2026:10:00:00 +0000", "requestTimeEpoch": 1795255200000,
        "resourceId": "abc123", "resourcePath": "/predictions", "stage": "v1",
    },
    "body": None,
    "isBase64Encoded": False,
}
ROW = {"temperature_c": 71.5, "humidity_pct": 40.25, "battery_pct": 88}


@pytest.fixture(scope="module")
def handler_module():
    return load("inference_api")


@pytest.fixture()
def api(handler_module, monkeypatch):
    """The handler configured as the stack configures it, its client stubbed; yields (module, stubber)."""
    features = [f.as_json() for f in features_from_schema(SCHEMA_FILE, MODEL_FEATURES)]
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("FEATURES", json.dumps(features))
    monkeypatch.setenv("MISSING_VALUE", str(MISSING_FEATURE_VALUE))
    monkeypatch.setenv("MAX_ROWS", "3")
    handler_module.settings.cache_clear()
    client = boto3.client("sagemaker-runtime", region_name="eu-west-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing")
    monkeypatch.setattr(handler_module, "runtime", lambda: client)
    with Stubber(client) as stubber:
        yield handler_module, stubber
        stubber.assert_no_pending_responses()
    handler_module.settings.cache_clear()


def call(module, body, *, raw: bool = False, b64: bool = False):
    event = copy.deepcopy(EVENT)
    text = body if raw else json.dumps(body)
    event["body"], event["isBase64Encoded"] = (base64.b64encode(text.encode()).decode(), True) if b64 else (text, False)
    response = module.handler(event, None)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


# What SageMaker's XGBoost container answers a real-time text/csv request (serve.py:
# ",".join(map(str, preds.tolist()))): multi:softprob (the app's default objective, 3 classes) gives
# str() of each row's probability list, all rows on one line; binary:logistic gives one number per row.
SOFTPROB_ONE_ROW = b"[0.9, 0.05, 0.05]"
SOFTPROB_TWO_ROWS = b"[0.9, 0.05, 0.05],[0.1, 0.2, 0.7]"
BINARY_TWO_ROWS = b"0.1,0.7"


def expect_invoke(stubber, csv: str, answer: bytes = SOFTPROB_ONE_ROW):
    import io

    from botocore.response import StreamingBody
    stubber.add_response("invoke_endpoint", {"Body": StreamingBody(io.BytesIO(answer), len(answer)),
                                             "ContentType": "text/csv"},
                         {"EndpointName": ENDPOINT, "ContentType": "text/csv", "Accept": "text/csv",
                          "Body": csv.encode()})


def test_the_schema_gives_the_models_features_in_training_order():
    features = [f.as_json() for f in features_from_schema(SCHEMA_FILE, MODEL_FEATURES)]
    assert features == [
        {"name": "temperature_c", "type": "number", "required": True, "minimum": -80, "maximum": 200},
        {"name": "humidity_pct", "type": "number", "required": False, "minimum": 0, "maximum": 100},
        {"name": "battery_pct", "type": "integer", "required": False, "minimum": 0, "maximum": 100},
    ]


def test_a_reading_becomes_the_csv_row_of_the_training_data_and_the_answer_json(api, capsys):
    module, stubber = api
    expect_invoke(stubber, "71.5,40.25,88")
    status, body = call(module, {"instances": [ROW]})
    assert (status, body) == (200, {"predictions": [[0.9, 0.05, 0.05]]})
    log = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert log["status"] == 200 and log["rows"] == 1 and log["request_id"] == EVENT["requestContext"]["requestId"]
    assert "71.5" not in json.dumps(log)  # the payload is never logged


def test_missing_optional_features_are_written_as_the_training_datas_minus_one(api):
    module, stubber = api
    expect_invoke(stubber, "20.0,-1,-1\n-5.0,55.0,-1", SOFTPROB_TWO_ROWS)
    status, body = call(module, {"instances": [{"temperature_c": 20}, {"temperature_c": -5.0, "humidity_pct": 55,
                                                                     "battery_pct": None}]})
    assert (status, body) == (200, {"predictions": [[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]]})


def test_the_default_objective_is_the_one_the_softprob_fixtures_answer_for():
    from config.profiles import PROFILES
    for profile in PROFILES.values():
        hyperparameters = profile["sagemaker"]["xgboost_hyperparameters"]
        assert (hyperparameters["objective"], hyperparameters["num_class"]) == ("multi:softprob", "3")


@pytest.mark.parametrize(("answer", "expected"), [
    (BINARY_TWO_ROWS, [0.1, 0.7]),  # binary:logistic: one probability per row, comma-separated
    (b"0.1\n0.7\n", [0.1, 0.7]),  # batch transform's layout: one row per line
    (b"[0.9, 0.05, 0.05]\n[0.1, 0.2, 0.7]\n", [[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]]),
    (b"0.9,0.05,0.05,0.1,0.2,0.7", [[0.9, 0.05, 0.05], [0.1, 0.2, 0.7]]),
    (b"1e-05,0.99999", [1e-05, 0.99999]),
])
def test_every_layout_of_the_containers_answer_gives_one_prediction_per_row(api, answer, expected):
    module, stubber = api
    expect_invoke(stubber, "20.0,-1,-1\n20.0,-1,-1", answer)
    status, body = call(module, {"instances": [{"temperature_c": 20}] * 2})
    assert (status, body) == (200, {"predictions": expected})


@pytest.mark.parametrize("answer", [b"0.1,0.2,0.7", b"", b"nan,0.5", b"no prediction"])
def test_an_answer_that_is_not_one_prediction_per_row_is_502(api, answer, capsys):
    module, stubber = api
    expect_invoke(stubber, "20.0,-1,-1\n20.0,-1,-1", answer)
    status, body = call(module, {"instances": [{"temperature_c": 20}] * 2})
    assert (status, body) == (502, {"message": "the model's answer does not fit the request: one prediction per row"})
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"].startswith("BadModelAnswer")


def test_a_base64_body_is_decoded(api):
    module, stubber = api
    expect_invoke(stubber, "71.5,40.25,88", b"[0.2, 0.3, 0.5]")
    assert call(module, {"instances": [ROW]}, b64=True) == (200, {"predictions": [[0.2, 0.3, 0.5]]})


@pytest.mark.parametrize(("body", "message"), [
    ("{not json", "the body is not valid JSON"),
    ('{"instances": [{"temperature_c": NaN}]}', "the body is not valid JSON: NaN is not a number JSON allows"),
    ("[]", 'the body must be a JSON object with "instances"'),
    ('{"instances": []}', "instances must be a non-empty list"),
    ('{"instances": [ROW]}', "the body is not valid JSON"),
    ('{"instances": [{}]}', "instances[0].temperature_c is required"),
    ('{"instances": [{"temperature_c": "hot"}]}', "instances[0].temperature_c must be a number, not str"),
    ('{"instances": [{"temperature_c": true}]}', "instances[0].temperature_c must be a number, not bool"),
    ('{"instances": [{"temperature_c": 20, "battery_pct": 50.5}]}', "instances[0].battery_pct=50.5 must be a whole number"),
    ('{"instances": [{"temperature_c": 20, "humidity_pct": 101}]}', "instances[0].humidity_pct=101 is out of range 0..100"),
    ('{"instances": [{"temperature_c": 20, "status": "ok"}]}', "instances[0].status is not a feature"),
    ('{"instances": [{"temperature_c": 20}], "extra": 1}', "unknown field 'extra'"),
    ('{"instances": [5]}', "instances[0] must be an object"),
])
def test_bad_payloads_get_400_naming_the_field_and_never_reach_the_endpoint(api, body, message):
    module, _ = api  # no stubbed response: a call to the endpoint would fail the test
    status, answer = call(module, body, raw=True)
    assert status == 400
    assert answer["message"].startswith(message)


def test_no_body_is_400(api):
    module, _ = api
    event = copy.deepcopy(EVENT)
    response = module.handler(event, None)
    assert response["statusCode"] == 400 and "no body" in json.loads(response["body"])["message"]


def test_too_many_rows_is_413(api):
    module, _ = api
    status, body = call(module, {"instances": [ROW] * 4})
    assert (status, body["message"]) == (413, "too many rows: 4, at most 3 per request")


@pytest.mark.parametrize(("code", "message", "extra", "status", "expected"), [
    ("ModelError", "Received server error (500) from primary", {"OriginalStatusCode": 500}, 502,
     {"message": "the model returned an error", "model_status": 500}),
    ("ValidationError", f"Endpoint {ENDPOINT} of account 111122223333 not found.", {}, 503,
     {"message": "endpoint not deployed yet: run the training pipeline (docs/deploy.md)"}),
    ("ThrottlingException", "Rate exceeded", {}, 429, {"message": "the endpoint is throttling requests: retry with backoff"}),
    ("ServiceUnavailable", "busy", {}, 503, {"message": "the endpoint is not ready: retry later"}),
    ("ModelNotReadyException", "loading", {}, 503, {"message": "the endpoint is not ready: retry later"}),
    ("InternalFailure", "oops", {}, 502, {"message": "the endpoint failed the request (InternalFailure)"}),
])
def test_endpoint_errors_map_to_statuses_without_internals(api, code, message, extra, status, expected):
    module, stubber = api
    stubber.add_client_error("invoke_endpoint", service_error_code=code, service_message=message,
                             http_status_code=424 if code == "ModelError" else 400, response_meta={},
                             modeled_fields=extra)
    got_status, body = call(module, {"instances": [ROW]})
    assert (got_status, body) == (status, expected)
    assert "Traceback" not in json.dumps(body) and "111122223333" not in json.dumps(body)


def test_a_timeout_is_504(api, monkeypatch):
    module, _ = api

    class Slow:
        def invoke_endpoint(self, **_):
            raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")

    monkeypatch.setattr(module, "runtime", lambda: Slow())
    assert call(module, {"instances": [ROW]}) == (504, {"message": "the endpoint did not answer in time: retry later"})


def test_an_unexpected_failure_is_a_bare_500(api, monkeypatch):
    module, _ = api

    class Broken:
        def invoke_endpoint(self, **_):
            raise KeyError("secret internals")

    monkeypatch.setattr(module, "runtime", lambda: Broken())
    assert call(module, {"instances": [ROW]}) == (500, {"message": "internal error"})


def test_the_client_does_not_retry_and_answers_before_api_gateways_29_seconds(handler_module):
    config = handler_module.CLIENT_CONFIG
    assert config.retries == {"total_max_attempts": 1}
    assert config.connect_timeout + config.read_timeout < 29
