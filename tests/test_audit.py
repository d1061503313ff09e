"""The audit trail: what the templates say (trail, bucket, key, table, queries, auditor policy), and the
analytics path on this machine: realistic CloudTrail log files laid out as CloudTrail writes them ->
the partitions the synthesized table's projection enumerates -> the rows CloudTrailSerde gives ->
the saved queries, run unchanged on DuckDB (with two one-line macros for the Athena functions DuckDB
names differently) -> the expected answers.
"""

from __future__ import annotations

import datetime
import gzip
import json
import re
from pathlib import Path

import aws_cdk as cdk
import duckdb
import pytest
from aws_cdk.assertions import Match, Template

from patterns.audit_trail import AuditTrail, ObjectLock
from tests.data_path.resolve import ACCOUNT, REGION, Templates

# CloudTrail's documented Athena columns (CloudTrailSerde DDL), written out independently of the pattern.
DOCUMENTED_COLUMNS = [
    "eventversion", "useridentity", "eventtime", "eventsource", "eventname", "awsregion", "sourceipaddress",
    "useragent", "errorcode", "errormessage", "requestparameters", "responseelements", "additionaleventdata",
    "requestid", "eventid", "resources", "eventtype", "apiversion", "readonly", "recipientaccountid",
    "serviceeventdetails", "sharedeventid", "vpcendpointid", "tlsdetails",
]


def only(synth, type_):
    return synth.only("Audit", type_)[1]


def trail_bucket(synth) -> tuple[str, dict]:
    (found,) = [(k, v) for k, v in synth.resources("Audit", "AWS::S3::Bucket").items()
                if v["Properties"].get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [{}])[0]
                .get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") == "aws:kms"]
    return found


def resolved(synth, type_) -> dict:
    templates = Templates(synth.templates, {sid: s.stack_name for sid, s in synth.built.stacks.items()})
    (logical,) = [k for k, v in synth.templates["Audit"]["Resources"].items() if v["Type"] == type_]
    return templates.resolve("Audit", logical)["Properties"]


# ---------------------------------------------------------------- trail


def test_trail_validates_log_files_encrypts_with_its_key_and_records_management_events(synth):
    trail = only(synth, "AWS::CloudTrail::Trail")["Properties"]
    (key_id,) = synth.resources("Audit", "AWS::KMS::Key")
    assert trail["EnableLogFileValidation"] is True and trail["IsLogging"] is True
    assert trail["IncludeGlobalServiceEvents"] is True
    assert trail["KMSKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert trail["S3BucketName"] == {"Ref": trail_bucket(synth)[0]}
    assert trail["AdvancedEventSelectors"][0]["FieldSelectors"] == [{"Field": "eventCategory", "Equals": ["Management"]}]


def test_trail_is_multi_region_in_prod_and_single_region_in_the_sandbox(sandbox, prod):
    assert only(sandbox, "AWS::CloudTrail::Trail")["Properties"]["IsMultiRegionTrail"] is False
    assert only(prod, "AWS::CloudTrail::Trail")["Properties"]["IsMultiRegionTrail"] is True


def test_s3_data_events_cover_the_raw_and_curated_zones(prod):
    selectors = resolved(prod, "AWS::CloudTrail::Trail")["AdvancedEventSelectors"]
    data = {s["Field"]: s for s in selectors[1]["FieldSelectors"]}
    assert data["eventCategory"]["Equals"] == ["Data"] and data["resources.type"]["Equals"] == ["AWS::S3::Object"]
    assert data["resources.ARN"]["StartsWith"] == [f"arn:aws:s3:::mlspec-prod-{zone}-{ACCOUNT}-{REGION}/"
                                                   for zone in ("raw", "curated")]
    assert "readOnly" not in data  # "all": reads and writes


def selectors_for(data_events: str) -> list[dict]:
    stack = cdk.Stack(cdk.App(), "Bare")
    AuditTrail(stack, "Trail", name="t", bucket_name="trail-bucket", access_log_bucket_name="trail-logs", key_alias="alias/t",
               data_events=data_events, data_event_buckets=["arn:aws:s3:::lake"])
    (trail,) = Template.from_stack(stack).find_resources("AWS::CloudTrail::Trail").values()
    return trail["Properties"]["AdvancedEventSelectors"]


@pytest.mark.parametrize(("setting", "read_only"), [("read", ["true"]), ("write", ["false"]), ("all", None)])
def test_s3_data_events_setting_selects_reads_writes_or_both(setting, read_only):
    fields = {f["Field"]: f for f in selectors_for(setting)[1]["FieldSelectors"]}
    assert fields["resources.ARN"]["StartsWith"] == ["arn:aws:s3:::lake/"]
    assert fields.get("readOnly", {}).get("Equals") == read_only


def test_no_s3_data_events_records_management_events_only():
    assert [s["Name"] for s in selectors_for("none")] == ["Every management event"]


def test_trail_bucket_policy_lets_only_this_trail_check_the_acl_and_write_this_accounts_logs(sandbox):
    bucket_logical, _ = trail_bucket(sandbox)
    (doc,) = [p["Properties"]["PolicyDocument"] for p in sandbox.resources("Audit", "AWS::S3::BucketPolicy").values()
              if p["Properties"]["Bucket"] == {"Ref": bucket_logical}]
    statements = {s.get("Sid"): s for s in doc["Statement"]}
    trail_arn = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":cloudtrail:", {"Ref": "AWS::Region"}, ":",
                                   {"Ref": "AWS::AccountId"}, ":trail/mlspec-sbx-audit"]]}
    acl = statements["AllowThisTrailToCheckTheBucketAcl"]
    assert acl["Principal"] == {"Service": "cloudtrail.amazonaws.com"} and acl["Action"] == "s3:GetBucketAcl"
    assert acl["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn}}
    write = statements["AllowThisTrailToWriteLogFiles"]
    assert write["Condition"] == {"StringEquals": {"aws:SourceArn": trail_arn,
                                                   "s3:x-amz-acl": "bucket-owner-full-control"}}
    assert write["Resource"]["Fn::Join"][1][-3:] == ["/AWSLogs/", {"Ref": "AWS::AccountId"}, "/*"]
    denies = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
    assert any(s["Condition"] == {"NumericLessThan": {"s3:TlsVersion": 1.2}} for s in denies)


def test_trail_key_lets_only_this_trail_encrypt_with_the_cloudtrail_context(sandbox):
    statements = {s.get("Sid"): s for s in resolved(sandbox, "AWS::KMS::Key")["KeyPolicy"]["Statement"]}
    encrypt = statements["AllowThisTrailToEncryptLogFiles"]
    assert encrypt["Action"] == "kms:GenerateDataKey*"
    assert encrypt["Condition"] == {
        "StringEquals": {"aws:SourceArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/mlspec-sbx-audit"},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{ACCOUNT}:trail/*"}}
    assert statements["AllowThisTrailToDescribeTheKey"]["Condition"]["StringEquals"]["aws:SourceArn"].endswith(
        ":trail/mlspec-sbx-audit")


def test_trail_bucket_is_encrypted_versioned_private_access_logged_and_expires(each_profile):
    _, bucket = trail_bucket(each_profile)
    props = bucket["Properties"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert props["PublicAccessBlockConfiguration"] == {k: True for k in (
        "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert props["LoggingConfiguration"]["LogFilePrefix"] == "audit/"
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    expected = {"sandbox": 90, "prod": 2557}[each_profile.built.settings.profile]
    assert rule["ExpirationInDays"] == expected
    # Versioning protects only while old versions are kept: a deleted log file as long as any other.
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": expected}


def test_prod_locks_log_files_in_governance_mode_and_retains_the_bucket(prod, sandbox):
    _, bucket = trail_bucket(prod)
    assert bucket["Properties"]["ObjectLockEnabled"] is True
    assert bucket["Properties"]["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}}}
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == "Retain"
    assert "ObjectLockEnabled" not in trail_bucket(sandbox)[1]["Properties"]


def test_a_locked_bucket_is_retained_even_when_told_to_destroy_data():
    stack = cdk.Stack(cdk.App(), "Bare")
    AuditTrail(stack, "Trail", name="t", bucket_name="trail-bucket", access_log_bucket_name="trail-logs", key_alias="alias/t",
               object_lock=ObjectLock(mode="COMPLIANCE", days=30), expire_after_days=30, destroy_on_removal=True)
    template = Template.from_stack(stack)
    template.has_resource("AWS::S3::Bucket", {"DeletionPolicy": "Retain", "Properties": Match.object_like({
        "BucketName": "trail-bucket", "ObjectLockConfiguration": {"ObjectLockEnabled": "Enabled", "Rule": {
            "DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}}})})


def _emptied(template: dict) -> dict[str, str]:
    """Bucket logical id -> logical id of the Custom::EmptyBucketOnDelete that empties it."""
    return {r["Properties"]["BucketName"]["Ref"]: k for k, r in template["Resources"].items()
            if r["Type"] == "Custom::EmptyBucketOnDelete"}


def _depends_on(template: dict, logical_id: str) -> set[str]:
    return set(template["Resources"][logical_id].get("DependsOn", []))


def test_a_destroyable_trail_empties_its_buckets_after_the_trail_stops_and_a_kept_one_never(sandbox, prod):
    """S3 deletes only empty buckets: without emptying, tearing down the sandbox's Audit stack fails
    on the log files CloudTrail wrote. The trail waits for the emptiers (so on teardown it stops
    writing first), and the trail bucket for the access-log emptier (its access logs come last)."""
    template = sandbox.templates["Audit"]
    trail_id, _ = trail_bucket(sandbox)
    (access_logs_id,) = set(sandbox.resources("Audit", "AWS::S3::Bucket")) - {trail_id}
    emptied = _emptied(template)
    assert set(emptied) == {trail_id, access_logs_id}
    for bucket_id in emptied:
        bucket = template["Resources"][bucket_id]
        assert bucket["DeletionPolicy"] == "Delete"
        assert {"Key": "empty-on-delete", "Value": "true"} in bucket["Properties"]["Tags"]
        assert template["Resources"][emptied[bucket_id]]["Properties"]["TagKey"] == "empty-on-delete"
    (trail,) = sandbox.resources("Audit", "AWS::CloudTrail::Trail")
    assert set(emptied.values()) <= _depends_on(template, trail)
    assert emptied[access_logs_id] in _depends_on(template, trail_id)
    # Kept data: no emptier, no tag.
    assert _emptied(prod.templates["Audit"]) == {}
    assert all("empty-on-delete" not in json.dumps(b) for b in prod.resources("Audit", "AWS::S3::Bucket").values())


def test_a_locked_destroyable_trail_empties_only_its_access_logs():
    stack = cdk.Stack(cdk.App(), "Bare")
    trail = AuditTrail(stack, "Trail", name="t", bucket_name="trail-bucket", access_log_bucket_name="trail-logs",
                       key_alias="alias/t", object_lock=ObjectLock(mode="GOVERNANCE", days=30), expire_after_days=30,
                       destroy_on_removal=True)
    template = Template.from_stack(stack).to_json()
    assert set(_emptied(template)) == {stack.get_logical_id(trail.access_log_bucket.node.default_child)}


@pytest.mark.parametrize(("props", "message"), [
    ({"object_lock": ObjectLock(mode="GOVERNANCE", days=365), "expire_after_days": 90}, "S3 cannot expire a locked"),
    ({"data_events": "read"}, "needs data_event_buckets"),
    ({"data_events": "reads"}, "use one of none, read, write, all"),
    ({"archive_after_days": 100, "expire_after_days": 90}, "use a day after archive_after_days=100"),
])
def test_the_pattern_refuses_props_cloudtrail_or_s3_would_reject(props, message):
    with pytest.raises(ValueError, match=message):
        AuditTrail(cdk.Stack(cdk.App(), "Bare"), "Trail", name="t", bucket_name="trail-bucket", access_log_bucket_name="trail-logs",
                   key_alias="alias/t", **props)


def test_cloudwatch_logs_delivery_only_when_enabled_through_a_role_scoped_to_the_real_streams(sandbox, prod):
    assert "CloudWatchLogsLogGroupArn" not in only(sandbox, "AWS::CloudTrail::Trail")["Properties"]
    # The sandbox's only log group is its bucket emptier's own, not a trail destination.
    assert [g["Properties"]["LogGroupName"] for g in sandbox.resources("Audit", "AWS::Logs::LogGroup").values()] == \
        ["/aws/lambda/mlspec-sbx-audit-empty-buckets"]
    trail = resolved(prod, "AWS::CloudTrail::Trail")
    group = "/aws/cloudtrail/mlspec-prod-audit"
    assert trail["CloudWatchLogsLogGroupArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"
    (log_group,) = prod.resources("Audit", "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == 365 and "KmsKeyId" in log_group["Properties"]
    policy = [p for p in prod.resources("Audit", "AWS::IAM::ManagedPolicy").values()
              if "log group" in json.dumps(p["Properties"]["Description"])]
    templates = Templates(prod.templates, {sid: s.stack_name for sid, s in prod.built.stacks.items()})
    (doc,) = [templates.value("Audit", p["Properties"]["PolicyDocument"]) for p in policy]
    (statement,) = doc["Statement"]
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == (f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:"
                                     f"{ACCOUNT}_CloudTrail_*")


# ---------------------------------------------------------------- table, workgroup, queries


def test_table_uses_the_documented_cloudtrail_columns_and_serde(sandbox):
    table = resolved(sandbox, "AWS::Glue::Table")["TableInput"]
    descriptor = table["StorageDescriptor"]
    assert [c["Name"] for c in descriptor["Columns"]] == DOCUMENTED_COLUMNS
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == "com.amazon.emr.hive.serde.CloudTrailSerde"
    assert descriptor["InputFormat"] == "com.amazon.emr.cloudtrail.CloudTrailInputFormat"
    assert [k["Name"] for k in table["PartitionKeys"]] == ["account", "region", "date"]


# One real object key of each kind CloudTrail writes (CloudTrail User Guide, "Finding your log files").
LOG_KEY = f"AWSLogs/{ACCOUNT}/CloudTrail/{{region}}/2026/11/24/{ACCOUNT}_CloudTrail_{{region}}_20261124T1005Z_a1B2c3D4e5F6g7H8.json.gz"
DIGEST_KEY = (f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/2026/11/24/"
              f"{ACCOUNT}_CloudTrail-Digest_{REGION}_mlspec-sbx-audit_{REGION}_20261124T100000Z.json.gz")


def java_date(value: datetime.date, pattern: str) -> str:
    return value.strftime(pattern.replace("yyyy", "%Y").replace("MM", "%m").replace("dd", "%d"))


def location(parameters: dict, account: str, region: str, day: datetime.date) -> str:
    """What Athena's partition projection computes for one partition."""
    return (parameters["storage.location.template"].replace("${account}", account).replace("${region}", region)
            .replace("${date}", java_date(day, parameters["projection.date.format"])))


@pytest.mark.parametrize("profile", ["sandbox", "prod"])
def test_projected_locations_are_where_cloudtrail_writes_and_never_the_digests(request, profile):
    synth = request.getfixturevalue(profile)
    params = resolved(synth, "AWS::Glue::Table")["TableInput"]["Parameters"]
    bucket = f"mlspec-{'sbx' if profile == 'sandbox' else 'prod'}-audit-{ACCOUNT}-{REGION}"
    assert params["projection.account.values"] == ACCOUNT
    regions = params["projection.region.values"].split(",")
    assert (regions == [REGION]) if profile == "sandbox" else {REGION, "us-east-1", "ap-southeast-5"} <= set(regions)
    first, last = params["projection.date.range"].split(",")
    assert last == "NOW" and first <= "2026/11/24"
    for region in regions:
        where = location(params, ACCOUNT, region, datetime.date(2026, 11, 24))
        assert where == f"s3://{bucket}/AWSLogs/{ACCOUNT}/CloudTrail/{region}/2026/11/24/"
        assert f"s3://{bucket}/{LOG_KEY.format(region=region)}".startswith(where)
        assert not f"s3://{bucket}/{DIGEST_KEY}".startswith(where)


def test_saved_queries_live_in_the_audit_workgroup_over_the_trail_table(each_profile):
    prefix = each_profile.built.settings.name_prefix
    queries = resolved_all(each_profile, "AWS::Athena::NamedQuery")
    assert sorted(q["Name"] for q in queries) == ["denied-api-calls", "key-and-bucket-policy-changes",
                                                  "who-read-training-data"]
    database = prefix.replace("-", "_") + "_audit"
    for query in queries:
        assert query["Database"] == database and query["WorkGroup"] == f"{prefix}-audit"
        assert f"FROM {database}.cloudtrail" in query["QueryString"]
    workgroup = resolved(each_profile, "AWS::Athena::WorkGroup")["WorkGroupConfiguration"]
    assert workgroup["EnforceWorkGroupConfiguration"] is True
    results = workgroup["ResultConfiguration"]
    assert results["OutputLocation"] == f"s3://{prefix}-results-{ACCOUNT}-{REGION}/audit/"
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"


def resolved_all(synth, type_) -> list[dict]:
    templates = Templates(synth.templates, {sid: s.stack_name for sid, s in synth.built.stacks.items()})
    return [r["Properties"] for r in templates.resources("Audit", type_).values()]


def test_the_audit_stack_is_gone_when_disabled(tmp_path):
    from stacks.app_factory import build_app

    built = build_app({"profile": "sandbox", "overrides": json.dumps({"audit": {"enabled": False}})},
                      outdir=str(tmp_path))
    assert "Audit" not in built.stacks and "Catalog" in built.stacks


# ---------------------------------------------------------------- the saved queries on CloudTrail records

TODAY = datetime.datetime.now(datetime.UTC).date()
D1, D2, D45, D100 = (TODAY - datetime.timedelta(days=n) for n in (1, 2, 45, 100))
CURATED = f"mlspec-prod-curated-{ACCOUNT}-{REGION}"
RAW = f"mlspec-prod-raw-{ACCOUNT}-{REGION}"
EXEC = f"arn:aws:sts::{ACCOUNT}:assumed-role/mlspec-prod-sagemaker-execution/SageMaker"
ALICE, BOB, MALLORY = (f"arn:aws:iam::{ACCOUNT}:user/{n}" for n in ("alice", "bob", "mallory"))
ADMIN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/ops"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def record(day: datetime.date, minute: int, who: str, source: str, name: str, region: str = REGION,
           error: str | None = None, **request) -> dict:
    """One CloudTrail record as CloudTrail writes it (camelCase, nested JSON)."""
    kind = "AssumedRole" if ":assumed-role/" in who else "IAMUser"
    event = {
        "eventVersion": "1.10",
        "userIdentity": {"type": kind, "principalId": "AIDAEXAMPLE", "arn": who, "accountId": ACCOUNT,
                         "accessKeyId": "ASIAEXAMPLE",
                         **({"sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                                                                  "arn": who, "accountId": ACCOUNT, "userName": "r"},
                                                "attributes": {"creationDate": f"{day}T00:00:00Z",
                                                               "mfaAuthenticated": "false"}}}
                            if kind == "AssumedRole" else {"userName": who.rsplit("/", 1)[1]})},
        "eventTime": f"{day}T10:{minute:02d}:00Z", "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.22.0",
        "requestParameters": request or None, "responseElements": None,
        "additionalEventData": {"SignatureVersion": "SigV4", "bytesTransferredOut": 512},
        "requestID": f"REQ{minute:04d}", "eventID": f"0000{minute:04d}-1111-2222-3333-444444444444",
        "readOnly": name.startswith(("Get", "Describe", "Decrypt")), "eventType": "AwsApiCall",
        "managementEvent": source != "s3.amazonaws.com" or "Policy" in name,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                       "clientProvidedHostHeader": f"{source.split('.')[0]}.{region}.amazonaws.com"},
    }
    if error:
        event |= {"errorCode": error, "errorMessage": "User is not authorized to perform this operation"}
    if "key" in request:
        event["resources"] = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{request['bucketName']}/{request['key']}"},
                              {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{request['bucketName']}"}]
        event["eventCategory"] = "Data"
    return event


def get(day, minute, who, bucket, key, **kw):
    return record(day, minute, who, "s3.amazonaws.com", "GetObject", bucketName=bucket, key=key,
                  Host=f"{bucket}.s3.{REGION}.amazonaws.com", **kw)


TRAINING = "training/sensor_readings/"
RECORDS = {
    (REGION, D1): [
        get(D1, 1, EXEC, CURATED, TRAINING + "part-0000.csv"),
        get(D1, 2, EXEC, CURATED, TRAINING + "part-0000.csv"),
        get(D1, 3, ALICE, CURATED, TRAINING + "part-0001.csv"),
        get(D1, 4, ALICE, CURATED, "sensor_readings/year=2026/month=11/day=20/part-0.parquet"),  # not training data
        get(D1, 5, ALICE, RAW, TRAINING + "part-0000.csv"),  # the same key in another bucket
        get(D1, 6, MALLORY, CURATED, TRAINING + "part-0000.csv", error="AccessDenied"),
        record(D1, 7, MALLORY, "kms.amazonaws.com", "Decrypt", error="AccessDeniedException",
               encryptionAlgorithm="SYMMETRIC_DEFAULT"),
        record(D1, 8, ADMIN, "kms.amazonaws.com", "PutKeyPolicy", keyId=KEY, policyName="default",
               policy="{\"Version\":\"2012-10-17\"}"),
        record(D1, 9, ADMIN, "s3.amazonaws.com", "PutBucketPolicy", bucketName=RAW,
               bucketPolicy={"Version": "2012-10-17", "Statement": []}, Host=f"{RAW}.s3.amazonaws.com", policy=""),
    ],
    ("us-east-1", D2): [
        record(D2, 10, MALLORY, "s3.amazonaws.com", "DeleteBucketPolicy", region="us-east-1", error="AccessDenied",
               bucketName=CURATED, Host=f"{CURATED}.s3.amazonaws.com", policy=""),
        record(D2, 11, MALLORY, "ec2.amazonaws.com", "DescribeInstances", region="us-east-1",
               error="Client.UnauthorizedOperation", instancesSet={}),
        record(D2, 12, ALICE, "sts.amazonaws.com", "GetCallerIdentity", region="us-east-1"),
    ],
    (REGION, D45): [
        get(D45, 13, BOB, CURATED, TRAINING + "part-0000.csv"),  # outside the 30-day window
        record(D45, 14, ADMIN, "kms.amazonaws.com", "PutKeyPolicy", keyId=KEY, policyName="default", policy="{}"),
    ],
    (REGION, D100): [  # outside every window
        record(D100, 15, ADMIN, "s3.amazonaws.com", "PutBucketPolicy", bucketName=RAW, bucketPolicy={}, policy=""),
    ],
}


@pytest.fixture(scope="module")
def trail_bucket_dir(tmp_path_factory) -> Path:
    """The trail's bucket as CloudTrail fills it: gzipped {"Records": [...]} files, and a digest file."""
    root = tmp_path_factory.mktemp("audit-bucket")
    for (region, day), records in RECORDS.items():
        key = (f"AWSLogs/{ACCOUNT}/CloudTrail/{region}/{day:%Y/%m/%d}/"
               f"{ACCOUNT}_CloudTrail_{region}_{day:%Y%m%d}T1005Z_a1B2c3D4e5F6g7H8.json.gz")
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()))
    digest = root / f"AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/{D1:%Y/%m/%d}/digest.json.gz"
    digest.parent.mkdir(parents=True, exist_ok=True)
    digest.write_bytes(gzip.compress(json.dumps({"awsAccountId": ACCOUNT, "logFiles": []}).encode()))
    return root


def duckdb_type(hive: str) -> str:
    """A Hive column type of the table as DuckDB writes it."""
    hive = hive.strip()
    if hive == "string":
        return "VARCHAR"
    inner = hive[hive.index("<") + 1:-1]
    parts, depth, start = [], 0, 0
    for i, char in enumerate(inner + ","):
        depth += char == "<"
        depth -= char == ">"
        if char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    if hive.startswith("struct<"):
        fields = [p.split(":", 1) for p in parts]
        return "STRUCT(" + ", ".join(f'"{n}" {duckdb_type(t)}' for n, t in fields) + ")"
    if hive.startswith("array<"):
        return duckdb_type(inner) + "[]"
    if hive.startswith("map<"):
        return f"MAP({duckdb_type(parts[0])}, {duckdb_type(parts[1])})"
    raise ValueError(hive)


def serde_row(event: dict, columns: dict[str, str]) -> dict:
    """What CloudTrailSerde gives for one record: names matched case-insensitively, objects in string
    columns as their JSON text, absent fields null."""

    def lower(value):
        if isinstance(value, dict):
            return {k.lower(): lower(v) for k, v in value.items()}
        if isinstance(value, list):
            return [lower(v) for v in value]
        return value

    by_name = {k.lower(): v for k, v in event.items()}
    row = {}
    for name, hive in columns.items():
        value = by_name.get(name)
        if hive == "string" and value is not None and not isinstance(value, str):
            value = json.dumps(value) if isinstance(value, (dict, list)) else str(value).lower()
        row[name] = lower(value) if hive != "string" else value
    return row


@pytest.fixture(scope="module")
def engine(prod, trail_bucket_dir, tmp_path_factory):
    """DuckDB holding the trail table as Athena sees it: the partitions projection enumerates (the
    synthesized table's own parameters) for the last 120 days, read from where they point."""
    table = resolved(prod, "AWS::Glue::Table")["TableInput"]
    params = table["Parameters"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    bucket_uri = f"s3://mlspec-prod-audit-{ACCOUNT}-{REGION}/"
    rows = []
    for account in params["projection.account.values"].split(","):
        for region in params["projection.region.values"].split(","):
            for back in range(120):
                day = TODAY - datetime.timedelta(days=back)
                where = location(params, account, region, day)
                assert where.startswith(bucket_uri)
                folder = trail_bucket_dir / where.removeprefix(bucket_uri)
                for file in sorted(folder.glob("*.json.gz")) if folder.is_dir() else []:
                    for event in json.loads(gzip.decompress(file.read_bytes()))["Records"]:
                        rows.append({**serde_row(event, columns), "account": account, "region": region,
                                     "date": java_date(day, params["projection.date.format"])})
    lines = tmp_path_factory.mktemp("serde") / "rows.jsonl"
    lines.write_text("\n".join(json.dumps(r) for r in rows))
    types = {**{n: duckdb_type(t) for n, t in columns.items()}, "account": "VARCHAR", "region": "VARCHAR",
             "date": "VARCHAR"}
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    # Athena's names for two functions DuckDB spells differently (same semantics for these arguments).
    connection.execute("CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)")
    connection.execute("CREATE MACRO date_format(t, f) AS strftime(t, f)")
    connection.execute("CREATE SCHEMA mlspec_prod_audit")
    spec = "{" + ", ".join(f"'{n}': '{t}'" for n, t in types.items()) + "}"
    connection.execute(f"CREATE TABLE mlspec_prod_audit.cloudtrail AS SELECT * FROM read_json('{lines}', "
                       f"format = 'newline_delimited', columns = {spec})")
    yield connection
    connection.close()


def run(engine, prod, name: str) -> list[dict]:
    (query,) = [q for q in resolved_all(prod, "AWS::Athena::NamedQuery") if q["Name"] == name]
    cursor = engine.execute(query["QueryString"])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def test_the_projection_finds_every_log_file_and_no_digest(engine):
    assert engine.execute("SELECT count(*) FROM mlspec_prod_audit.cloudtrail").fetchone()[0] == sum(
        map(len, RECORDS.values()))


def test_who_read_the_training_data(engine, prod):
    rows = run(engine, prod, "who-read-training-data")
    assert [(r["principal"], r["principal_type"], r["object_key"], r["reads"]) for r in rows] == [
        (EXEC, "AssumedRole", TRAINING + "part-0000.csv", 2),
        (ALICE, "IAMUser", TRAINING + "part-0001.csv", 1),
    ]
    assert rows[0]["first_read"] == f"{D1}T10:01:00Z" and rows[0]["last_read"] == f"{D1}T10:02:00Z"


def test_which_api_calls_were_denied(engine, prod):
    rows = run(engine, prod, "denied-api-calls")
    assert [(r["principal"], r["eventsource"], r["eventname"], r["errorcode"], r["calls"]) for r in rows] == [
        (MALLORY, "kms.amazonaws.com", "Decrypt", "AccessDeniedException", 1),
        (MALLORY, "s3.amazonaws.com", "DeleteBucketPolicy", "AccessDenied", 1),
        (MALLORY, "ec2.amazonaws.com", "DescribeInstances", "Client.UnauthorizedOperation", 1),
        (MALLORY, "s3.amazonaws.com", "GetObject", "AccessDenied", 1),
    ]


def test_who_changed_a_key_policy_or_a_bucket_policy(engine, prod):
    rows = run(engine, prod, "key-and-bucket-policy-changes")
    assert [(r["eventname"], r["principal"], r["target"], r["errorcode"]) for r in rows] == [
        ("PutBucketPolicy", ADMIN, RAW, None),
        ("PutKeyPolicy", ADMIN, KEY, None),
        ("DeleteBucketPolicy", MALLORY, CURATED, "AccessDenied"),
        ("PutKeyPolicy", ADMIN, KEY, None),
    ]
    assert rows[-1]["eventtime"].startswith(str(D45))


def test_the_saved_queries_bound_their_scan_by_the_date_partition(prod):
    for query in resolved_all(prod, "AWS::Athena::NamedQuery"):
        assert re.search(r'WHERE "date" >= date_format\(current_timestamp - INTERVAL \'\d+\' DAY', query["QueryString"])
