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


# When a hop must evaluate, from the settings alone (never from the contract's facts); any hop not
# named here applies to every profile.
def _guard(s) -> bool:
    return s.sagemaker.deny_jobs_outside_vpc


def _api(private: bool):
    return lambda s: s.inference_api.enabled and s.inference_api.private == private


APPLIES = {
    "logs-03": lambda s: s.streaming.alarm_email is not None,
    "catalog-19": lambda s: s.catalog.data_catalog_encryption,
    **dict.fromkeys(("sagemaker-02", "sagemaker-03", "sagemaker-04"), lambda s: not s.sagemaker.tuning.enabled),
    "sagemaker-11": lambda s: s.sagemaker.managed_spot_training,
    "sagemaker-17": lambda s: s.sagemaker.model_artifact is not None,
    "sagemaker-18": lambda s: s.sagemaker.data_capture_sampling_percent > 0,
    "sagemaker-20": lambda s: s.sagemaker.model_artifact is not None,
    **dict.fromkeys(("sagemaker-21", "sagemaker-22", "sagemaker-22b", "sagemaker-22c"),
                    lambda s: s.sagemaker.notebook_enabled),
    **dict.fromkeys(("sagemaker-23", "sagemaker-24", "sagemaker-25", "sagemaker-26", "monitor-16", "monitor-17",
                     "lifecycle-11"), _guard),
    **{h.id: lambda s: s.audit.enabled for h in dp.AUDIT},
    **dict.fromkeys(("audit-05", "audit-20"), lambda s: s.audit.enabled and s.audit.cloudwatch_logs),
    **{h.id: lambda s: s.lake_formation.enabled for h in dp.LAKE_FORMATION},
    **{h.id: lambda s: s.sagemaker.batch_transform.enabled for h in dp.BATCH_TRANSFORM_HOPS},
    "batch-16": lambda s: s.sagemaker.batch_transform.enabled and _guard(s),
    **{h.id: lambda s: s.sagemaker.model_monitor.enabled for h in dp.MODEL_MONITOR_HOPS
       if h.id not in ("monitor-16", "monitor-17")},
    **{h.id: lambda s: s.inference_api.enabled for h in dp.INFERENCE_API},
    **dict.fromkeys(("api-01", "api-05", "api-09"), _api(private=False)),
    **dict.fromkeys(("api-02", "api-06", "api-10"), _api(private=True)),
    "lifecycle-02": lambda s: s.sagemaker.registry.approval == "automatic",
    **dict.fromkeys(("lifecycle-12", "lifecycle-13", "lifecycle-14", "lifecycle-15"),
                    lambda s: s.sagemaker.tuning.enabled),
}


def calls_per_hop(requests: list[contract.Request]) -> dict[str, int]:
    """How many concrete calls each hop evaluated (an unresolvable hop counts none)."""
    counts = dict.fromkeys((hop.id for hop in dp.HOPS), 0)
    for r in requests:
        if r.outcome.get("result") != "Unresolvable":
            counts[r.hop.id] += 1
    return counts


def test_each_hop_evaluates_exactly_where_its_feature_is_on(request, evaluated):
    # A fact resolving to zero records makes a hop vanish silently; one resolving to a resource of
    # a feature that is off makes it check something that does not exist.
    profile, requests = evaluated
    settings = request.getfixturevalue(profile).built.settings
    counts = calls_per_hop(requests)
    print(f"\n{profile}: calls per hop: " + ", ".join(f"{h}={n}" for h, n in counts.items()))
    on = {hop.id for hop in dp.HOPS if APPLIES.get(hop.id, lambda s: True)(settings)}
    assert [h for h in on if not counts[h]] == [], f"{profile}: hops of features that are on evaluated no call"
    assert [h for h in counts if counts[h] and h not in on] == [], f"{profile}: hops of features that are off evaluated"


def test_the_feature_table_names_real_hops():
    assert set(APPLIES) <= {hop.id for hop in dp.HOPS}


# Facts read from one state machine among several, and the machine each must come from
# (`<prefix>-<suffix>`, the names the stack gives them).
MACHINE_OF = {
    "pipeline_role": "xgboost", "run": "xgboost", "automatic_approval": "xgboost", "train_step": "xgboost",
    "tuning_run": "xgboost", "train_input": "xgboost", "train_output": "xgboost", "train_output_key": "xgboost",
    "train_volume_key": "xgboost", "train_subnets": "xgboost", "checkpoints": "xgboost",
    "deploy_role": "deploy", "deploy_run": "deploy", "model_subnets": "deploy", "endpoint_volume_key": "deploy",
    "pipeline_capture_key": "deploy", "pipeline_capture": "deploy", "batch": "batch-transform", "monitor": "monitor",
}


def test_state_machine_facts_come_from_the_intended_machine(synth):
    templates, prefix = templates_of(synth), synth.built.settings.name_prefix
    for fact, suffix in MACHINE_OF.items():
        for stack, logical in contract.places(templates, dp.FACTS[fact]):
            machine = templates.resolve(stack, logical)
            assert machine["Type"] == dp.PIPELINE, fact
            assert machine["Properties"]["StateMachineName"] == f"{prefix}-{suffix}", fact


def test_queue_and_rule_facts_name_the_queue_each_rule_dead_letters_to(synth):
    # The deploy's and the Model Monitor's queues are told apart by QueueName (only the monitor's has
    # one): check them against the queue each rule's target really names.
    templates = templates_of(synth)
    known = contract.facts(templates)
    queues = {templates.attribute("SageMaker", q, "Arn"): templates.resolve("SageMaker", q)["Properties"]["KmsMasterKeyId"]
              for q in templates.resources("SageMaker", "AWS::SQS::Queue")}
    rules = {templates.attribute("SageMaker", r, "Arn"): templates.resolve("SageMaker", r)["Properties"]
             for r in templates.resources("SageMaker", "AWS::Events::Rule")}
    approval = rules[known["rule"]]
    assert "ModelApprovalStatus" in approval["EventPattern"]["detail"]
    assert known["deploy_queue"] == approval["Targets"][0]["DeadLetterConfig"]["Arn"]
    assert known["deploy_queue_key"] == queues[known["deploy_queue"]]
    for record in known["monitor_queue"]:
        (trigger,) = known["monitor_trigger"]
        assert record["arn"] == rules[trigger["arn"]]["Targets"][0]["DeadLetterConfig"]["Arn"]
        assert record["key"] == queues[record["arn"]]
    assert len(known["monitor_queue"]) == len(known["monitor_trigger"]) == int(synth.built.settings.sagemaker.model_monitor.enabled)


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
