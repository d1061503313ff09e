"""The data-path contract: every hop data takes once deployed is allowed (and every guard-rail hop
denied) by the synthesized identity, resource, key and VPC endpoint policies, as IAM evaluates them.

The hops are declarative data in `scripts/data_paths.py`; `tests/data_path/` resolves the
templates and runs @cloud-copilot/iam-simulate (one Node process per profile).
"""

from __future__ import annotations

import pytest

from scripts import data_paths as dp
from tests.data_path import contract
from tests.data_path.resolve import ACCOUNT, DEFAULT_ENDPOINT_POLICY, Templates

PROFILES = ("sandbox", "prod", "custom")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/worker"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/worker/session"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET = "arn:aws:s3:::example-bucket"


def templates_of(synth) -> Templates:
    return Templates(synth.templates, {sid: stack.stack_name for sid, stack in synth.built.stacks.items()})


@pytest.fixture(scope="session", params=PROFILES)
def evaluated(request) -> tuple[str, list[contract.Request]]:
    return request.param, contract.evaluate(templates_of(request.getfixturevalue(request.param)))


@pytest.mark.parametrize("architecture", list(dp.ARCHITECTURES))
def test_every_hop_holds(evaluated, architecture):
    profile, requests = evaluated
    mine = [r for r in requests if r.hop in dp.ARCHITECTURES[architecture]]
    failing = [r.explain() for r in mine if not r.holds()]
    assert not failing, f"{profile}: {len(failing)} of {len(mine)} requests break the contract:\n" + "\n".join(failing)


def test_every_hop_applies_to_some_profile(sandbox, prod, custom):
    # A hop whose facts never resolve to a record would pass by checking nothing.
    known = [contract.facts(templates_of(s)) for s in (sandbox, prod, custom)]
    unused = [hop.id for hop in dp.HOPS if not any(contract.instances(hop, k) for k in known)]
    assert not unused


def test_the_etl_job_reads_the_prefix_firehose_writes(synth):
    # The job reads raw by S3 path; the contract's raw hops follow the object Firehose writes.
    known = contract.facts(templates_of(synth))
    written = contract.substitute(dp.FIREHOSE_OBJECT, known, {})
    assert written.startswith(contract.substitute("{etl_input|s3arn}", known, {}))


def test_the_hop_table_is_well_formed():
    ids = [hop.id for hop in dp.HOPS]
    assert len(ids) == len(set(ids))
    for hop in dp.HOPS:
        assert hop.principal in dp.PRINCIPALS, hop.id
        assert hop.expect in ("Allowed", "ExplicitlyDenied", "ImplicitlyDenied"), hop.id
        assert hop.kms is None or hop.expect == "Allowed", f"{hop.id}: a refused call makes no KMS call"
        unknown = contract._roots([hop, dp.PRINCIPALS[hop.principal]]) - set(dp.FACTS) - set(contract.FIXED)
        assert not unknown, f"{hop.id} uses unknown placeholders {unknown}"


def test_the_generated_doc_is_current():
    assert dp.DOC.read_text() == dp.markdown(), "docs/data-paths.md is stale: run `make docs`"


# ---- the resolver ----------------------------------------------------------------------------------
def test_resolver_follows_weak_cross_stack_references_and_keeps_the_log_group_arn_trap(sandbox):
    templates = templates_of(sandbox)
    lake_key = templates.output("DataLake", "LakeKeyArn")
    assert lake_key.startswith(f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/")
    (firehose,) = templates.resources("Streaming", "AWS::KinesisFirehose::DeliveryStream").values()
    destination = firehose["Properties"]["ExtendedS3DestinationConfiguration"]
    assert destination["EncryptionConfiguration"]["KMSEncryptionConfig"]["AWSKMSKeyARN"] == lake_key
    assert destination["BucketARN"] == f"arn:aws:s3:::mlspec-sbx-raw-{ACCOUNT}-eu-west-1"
    (group,) = [lid for lid, g in templates.resources("Streaming", "AWS::Logs::LogGroup").items()
                if g["Properties"]["LogGroupName"].startswith("/aws/lambda/")]
    assert templates.attribute("Streaming", group, "Arn").endswith(":log-group:/aws/lambda/mlspec-sbx-sensor-readings-transform:*")


def test_resolver_finds_the_policies_of_a_role_and_of_a_bucket(sandbox):
    templates = templates_of(sandbox)
    role = templates.output("SageMaker", "ExecutionRoleArn")
    statements = {s.get("Sid") for p in templates.identity_policies(role) for s in p["policy"]["Statement"]}
    assert "ReadTrainingDataAndModels" in statements
    bucket = templates.output("DataLake", "RawBucketName")
    sids = {s.get("Sid") for s in templates.resource_policy(f"arn:aws:s3:::{bucket}/x")["Statement"]}
    assert {"DenyUploadsNotUsingSseKms", "DenyUploadsUsingAnotherKmsKey", "DenyUploadsUsingSseC"} <= sids
    assert templates.resource_policy("arn:aws:s3:::not-in-the-app/x") is None
    assert templates.vpc_endpoint("s3")["policy"] != DEFAULT_ENDPOINT_POLICY


# ---- the evaluator against AWS's documented policy evaluation logic ----------------------------------
def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: str, resource: str = "*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: str, resource: str = "*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def ask(action: str, resource: str, *, identity: dict | None = None, resource_policy: dict | None = None,
        endpoint: dict | None = None, principal: str = SESSION, context: dict | None = None) -> dict:
    """An iam-simulate Simulation in this account."""
    simulation = {"request": {"principal": principal, "action": action,
                              "resource": {"resource": resource, "accountId": ACCOUNT},
                              "contextVariables": {"aws:SecureTransport": "true", **(context or {})}},
                  "identityPolicies": [{"name": "identity", "policy": identity}] if identity else [],
                  "serviceControlPolicies": [], "resourceControlPolicies": []}
    if resource_policy:
        simulation["resourcePolicy"] = resource_policy
    if endpoint:
        simulation["vpcEndpointPolicies"] = [{"name": "vpce", "policy": endpoint}]
    return simulation


OBJECT = f"{BUCKET}/data.csv"
OTHER = "arn:aws:sts::444455556666:assumed-role/worker/session"
ROOT = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
TOPIC = f"arn:aws:sns:eu-west-1:{ACCOUNT}:alerts"
ALARMS = allow("sns:Publish", TOPIC, Principal={"Service": "cloudwatch.amazonaws.com"},
               Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}})
LOGS = allow("kms:GenerateDataKey*", "*", Principal={"Service": "logs.eu-west-1.amazonaws.com"},
             Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:*"}})
LAKE_ONLY = policy({**allow("s3:GetObject", "arn:aws:s3:::lake/*"), "Principal": "*"})
# The lake's deny-other-encryption form; without the Null check a negated operator also matches
# an absent key (so it would deny uploads that send no header).
BARE_SSE_DENY = deny("s3:PutObject", f"{BUCKET}/*", Principal="*",
                     Condition={"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}})
SSE_DENY = {**BARE_SSE_DENY, "Condition": {**BARE_SSE_DENY["Condition"], "Null": {"s3:x-amz-server-side-encryption": "false"}}}
PUTS = policy(allow("s3:PutObject", f"{BUCKET}/*"))

# AWS's policy evaluation logic (IAM User Guide) and KMS key-policy rules, case by case.
CASES = {
    "same account: an identity policy alone allows": (
        "Allowed", ask("s3:GetObject", OBJECT, identity=policy(allow("s3:GetObject", OBJECT)))),
    "same account: a resource policy naming the role alone allows": (
        "Allowed", ask("s3:GetObject", OBJECT, resource_policy=policy(allow("s3:GetObject", OBJECT, Principal={"AWS": ROLE})))),
    "no statement allows: implicit deny": (
        "ImplicitlyDenied", ask("s3:GetObject", OBJECT, identity=policy(allow("s3:PutObject", OBJECT)))),
    "an explicit deny in the resource policy wins over an identity allow": (
        "ExplicitlyDenied", ask("s3:GetObject", OBJECT, identity=policy(allow("s3:*", f"{BUCKET}/*")),
                                resource_policy=policy(deny("s3:GetObject", OBJECT, Principal="*")))),
    "an explicit deny in an identity policy wins over a resource allow": (
        "ExplicitlyDenied", ask("s3:GetObject", OBJECT, identity=policy(allow("s3:*"), deny("s3:GetObject", OBJECT)),
                                resource_policy=policy(allow("s3:GetObject", OBJECT, Principal={"AWS": ROLE})))),
    "cross account: an identity policy alone does not allow": (
        "ImplicitlyDenied", ask("s3:GetObject", OBJECT, principal=OTHER, identity=policy(allow("s3:GetObject", OBJECT)))),
    "cross account: identity and resource policy together allow": (
        "Allowed", ask("s3:GetObject", OBJECT, principal=OTHER, identity=policy(allow("s3:GetObject", OBJECT)),
                       resource_policy=policy(allow("s3:GetObject", OBJECT, Principal={"AWS": "arn:aws:iam::444455556666:root"})))),
    "kms: a key policy delegating to the account makes the identity policy count": (
        "Allowed", ask("kms:Decrypt", KEY, identity=policy(allow("kms:Decrypt", KEY)), resource_policy=policy(ROOT))),
    "kms: without the account statement an identity policy does not count": (
        "ImplicitlyDenied", ask("kms:Decrypt", KEY, identity=policy(allow("kms:Decrypt", KEY)),
                                resource_policy=policy({**ROOT, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"}}))),
    "kms: the account statement alone grants nothing": (
        "ImplicitlyDenied", ask("kms:Decrypt", KEY, resource_policy=policy(ROOT))),
    "kms: a key policy naming the role allows on its own": (
        "Allowed", ask("kms:Decrypt", KEY, resource_policy=policy(allow("kms:Decrypt", "*", Principal={"AWS": ROLE})))),
    "kms: an encryption-context condition matches the request's context": (
        "Allowed", ask("kms:GenerateDataKey", KEY, principal="logs.eu-west-1.amazonaws.com", resource_policy=policy(LOGS),
                       context={"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/x"})),
    "kms: an encryption-context condition refuses another context": (
        "ImplicitlyDenied", ask("kms:GenerateDataKey", KEY, principal="logs.eu-west-1.amazonaws.com", resource_policy=policy(LOGS),
                                context={"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-1:444455556666:log-group:x"})),
    "a service principal without a resource policy is denied": (
        "ImplicitlyDenied", ask("sns:Publish", TOPIC, principal="cloudwatch.amazonaws.com", context={"aws:SourceAccount": ACCOUNT})),
    "a service principal is allowed by the resource policy": (
        "Allowed", ask("sns:Publish", TOPIC, principal="cloudwatch.amazonaws.com", resource_policy=policy(ALARMS),
                       context={"aws:SourceAccount": ACCOUNT})),
    "a service principal acting for another account is refused": (
        "ImplicitlyDenied", ask("sns:Publish", TOPIC, principal="cloudwatch.amazonaws.com", resource_policy=policy(ALARMS),
                                context={"aws:SourceAccount": "444455556666"})),
    "vpc endpoint: its policy allows the lake": (
        "Allowed", ask("s3:GetObject", "arn:aws:s3:::lake/x", identity=policy(allow("s3:*")), endpoint=LAKE_ONLY)),
    "vpc endpoint: its policy refuses another bucket whatever the identity allows": (
        "ImplicitlyDenied", ask("s3:GetObject", OBJECT, identity=policy(allow("s3:*")), endpoint=LAKE_ONLY)),
    "vpc endpoint: the default full-access policy": (
        "Allowed", ask("s3:GetObject", OBJECT, identity=policy(allow("s3:*")), endpoint=DEFAULT_ENDPOINT_POLICY)),
    "conditions: a negated operator matches an absent key": (
        "ExplicitlyDenied", ask("s3:PutObject", OBJECT, identity=PUTS, resource_policy=policy(BARE_SSE_DENY))),
    "conditions: Null false limits the deny to requests that send the key": (
        "Allowed", ask("s3:PutObject", OBJECT, identity=PUTS, resource_policy=policy(SSE_DENY))),
    "conditions: the limited deny still refuses SSE-S3": (
        "ExplicitlyDenied", ask("s3:PutObject", OBJECT, identity=PUTS, resource_policy=policy(SSE_DENY),
                                context={"s3:x-amz-server-side-encryption": "AES256"})),
}


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    outcomes = contract.simulate([simulation for _, simulation in CASES.values()])
    return {name: outcome["result"] for name, outcome in zip(CASES, outcomes, strict=True)}


@pytest.mark.parametrize("case", list(CASES))
def test_the_evaluator_follows_aws_policy_evaluation_logic(verdicts, case):
    assert verdicts[case] == CASES[case][0]
