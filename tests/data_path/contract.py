"""Evaluates the hops of `scripts.data_paths` against one synthesized app.

Each hop becomes concrete IAM requests (one per action and resource, plus the KMS calls the hop
makes AWS perform); all requests of a profile go to one Node process (`simulate.mjs`, which runs
@cloud-copilot/iam-simulate) and come back with the verdict and the decisive statements.

Semantics (same account 111122223333, eu-west-1):
- a role of the app calls as an assumed-role session; its identity policies are the role's inline
  policies, attached managed policies and AWS::IAM::Policy resources from the templates;
- the resource policy is the bucket, key, topic or queue policy from the templates (none for a
  bucket outside the app); a service principal is allowed only by a resource policy;
- KMS: the key policy must allow directly, or delegate to the account (root statement) and then
  the identity policies must allow; the calls S3, Kinesis or Glue make carry kms:ViaService and
  the caller's credentials;
- a hop through a VPC endpoint is also evaluated against the endpoint's policy (AWS's default
  full-access policy when the template sets none): the endpoint must allow and must not deny,
  whatever identity and resource policies say (iam-simulate's `vpcEndpointPolicies` input, which
  reads an endpoint policy like an identity policy: its Principal, "*" in this app, is not matched);
- any explicit deny decides.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from scripts import data_paths as dp
from tests.data_path.resolve import ACCOUNT, REGION, Templates, Unresolvable

SIMULATE = Path(__file__).with_name("simulate.mjs")
ALLOW_ALL = {"name": "contract:AllowAll", "policy": {
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}}
FIXED = {"region": REGION, "account": ACCOUNT}
PLACEHOLDER = re.compile(r"\{(\w+)(?:\.(\w+))?(?:\|(\w+))?\}")
FIREHOSE_EXPRESSIONS = {"!{timestamp:yyyy}": "2026", "!{timestamp:MM}": "11", "!{timestamp:dd}": "24",
                        "!{timestamp:HH}": "10", "!{timestamp:yyyy/MM/dd}": "2026/11/24",
                        "!{firehose:error-output-type}": "processing-failed", "!{firehose:random-string}": "a1b2c3d4"}


class Many(list):
    """The records of a fact located with `Each` (or an optional output): a hop using one is
    evaluated once per record, and not at all when there is none."""


# ---- facts ------------------------------------------------------------------------------------
def _path(templates: Templates, stack: str, logical: str, path: str) -> Any:
    """A property of a resolved resource: `a.b[0].c[Key=value]` (`[key.with.dots]`, `[=value]` a list
    holding value), `X#json` parses JSON,
    `@Ref`/`@Arn` are the resource's own Ref and Arn. KeyError when a step is missing."""
    if path.startswith("@"):
        return templates.attribute(stack, logical, path[1:])
    node: Any = templates.resolve(stack, logical)["Properties"]
    for name, selectors in re.findall(r"(?:^|\.)([^.\[]+)((?:\[[^\]]*\])*)", path):
        node = node[name.removesuffix("#json")]
        if name.endswith("#json"):
            node = json.loads(node)
        for selector in re.findall(r"\[([^\]]*)\]", selectors):
            if selector.startswith("="):  # [=value]: a list of plain values that holds value
                if selector[1:] not in node:
                    raise KeyError(f"{name}: no {selector[1:]}")
                node = selector[1:]
            elif "=" in selector:
                key, value = selector.split("=", 1)
                matches = [item for item in node if item.get(key) == value]
                if len(matches) != 1:
                    raise KeyError(f"{name}: {len(matches)} items with {key}={value}")
                node = matches[0]
            else:
                node = node[int(selector)] if selector.isdigit() else node[selector]
    return node


def _has(templates: Templates, stack: str, logical: str, path: str) -> bool:
    try:
        _path(templates, stack, logical, path)
    except (KeyError, IndexError):
        return False
    return True


def _candidates(templates: Templates, locator: dp.One | dp.Each) -> list[tuple[str, str]]:
    stacks = list(templates.raw) if locator.stack == "*" else [locator.stack]
    found = [(stack, logical) for stack in stacks for logical in templates.resources(stack, locator.type)]
    # `where`: only the resources that have this path (one state machine among several).
    if locator.where:  # "!path": only the resources that do not have it
        path, negate = locator.where.removeprefix("!"), locator.where.startswith("!")
        found = [f for f in found if _has(templates, *f, path) != negate]
    return found


def _record(templates: Templates, place: tuple[str, str], locator: dp.Each) -> Any:
    if isinstance(locator.fields, str):
        return _path(templates, *place, locator.fields)
    return {k: _path(templates, *place, p) for k, p in locator.fields.items()}


def places(templates: Templates, locator: Any) -> list[tuple[str, str]]:
    """The (stack, logical id) of each resource a `One` or `Each` fact takes a value from."""
    if isinstance(locator, tuple):
        return [place for part in locator for place in places(templates, part)]
    if isinstance(locator, dp.One):
        return [f for f in _candidates(templates, locator) if _has(templates, *f, locator.path)]
    return [f for f in _candidates(templates, locator) if _has_record(templates, f, locator)]


def _has_record(templates: Templates, place: tuple[str, str], locator: dp.Each) -> bool:
    try:
        _record(templates, place, locator)
    except (KeyError, IndexError):
        return False
    return True


def locate(templates: Templates, locator: Any) -> Any:
    if isinstance(locator, tuple):
        return Many(record for part in locator for record in locate(templates, part))
    if isinstance(locator, dp.Output):
        present = locator.name in templates.raw[locator.stack].get("Outputs", {})
        if locator.optional:
            return Many([templates.output(locator.stack, locator.name)] if present else [])
        return templates.output(locator.stack, locator.name)
    found = _candidates(templates, locator)
    if isinstance(locator, dp.One) and len(found) > 1:
        found = [f for f in found if _has(templates, *f, locator.path)]
    if isinstance(locator, dp.One):
        values, errors = [], []
        for place in found:  # the only resource of the type that has the path
            try:
                values.append(_path(templates, *place, locator.path))
            except (KeyError, IndexError) as error:
                errors.append(error)
        if len(values) != 1:
            detail = f" ({errors[0]})" if errors and not values else ""
            raise Unresolvable(f"{locator}: expected one {locator.type} with it, found {len(values)}{detail}")
        return values[0]
    records = Many()
    for place in found:
        try:
            records.append(_record(templates, place, locator))
        except (KeyError, IndexError):
            continue  # this resource lacks a field: not a record of this fact
    return records


def facts(templates: Templates) -> dict[str, Any]:
    """Every fact; one the templates do not have is kept as its error, raised by the hops using it."""
    known: dict[str, Any] = {}
    for name, locator in dp.FACTS.items():
        try:
            known[name] = locate(templates, locator)
        except Unresolvable as error:
            known[name] = error
    return known


# ---- placeholders -----------------------------------------------------------------------------
def _filter(value: str, name: str | None) -> str:
    if name is None:
        return value
    if name == "firehose":
        for expression, example in FIREHOSE_EXPRESSIONS.items():
            value = value.replace(expression, example)
        if "!{" in value:
            raise Unresolvable(f"unknown Firehose expression in {value!r}")
        return value
    if name == "name":
        return value.rsplit("/", 1)[-1]
    if name == "asl":
        value = re.sub(r"States\.Format\('([^'{}]*)\{\}([^'{}]*)', *States\.UUID\(\)\)", rf"\g<1>{dp.UUID}\g<2>", value)
        # A tuning job's name: the first group of a UUID (tuning job names have at most 32 characters).
        value = re.sub(r"States\.Format\('([^'{}]*)\{\}([^'{}]*)', *States\.ArrayGetItem\(States\.StringSplit\("
                       r"States\.UUID\(\), *'-'\), *0\)\)", rf"\g<1>{dp.UUID.split('-')[0]}\g<2>", value)
        if "States." in value or "$" in value:
            raise Unresolvable(f"unsupported Step Functions expression {value!r}")
        return value
    bucket_and_key = value.removeprefix("s3://").removeprefix("arn:aws:s3:::")
    bucket, _, key = bucket_and_key.partition("/")
    return {"s3arn": f"arn:aws:s3:::{bucket_and_key}", "bucketarn": f"arn:aws:s3:::{bucket}", "key": key}[name]


def substitute(node: Any, known: dict[str, Any], binding: dict[str, Any]) -> Any:
    """`node` with every placeholder replaced; a string that is one placeholder keeps a list value."""
    if isinstance(node, dict):
        return {substitute(k, known, binding): substitute(v, known, binding) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [substitute(item, known, binding) for item in node]
    if not isinstance(node, str):
        return node

    def value(match: re.Match) -> Any:
        root, field, filter_ = match.groups()
        if root in FIXED:
            return FIXED[root]
        if root not in known:
            raise Unresolvable(f"unknown placeholder {match.group(0)}")
        if isinstance(known[root], Unresolvable):
            raise known[root]
        fact = binding[root] if isinstance(known[root], Many) else known[root]
        fact = fact[field] if field else fact
        return [_filter(v, filter_) for v in fact] if isinstance(fact, list) else _filter(fact, filter_)

    whole = PLACEHOLDER.fullmatch(node)
    if whole:
        return value(whole)
    return PLACEHOLDER.sub(lambda m: str(value(m)), node)


def _roots(node: Any) -> set[str]:
    text = json.dumps(node, default=lambda o: dataclasses.asdict(o) if dataclasses.is_dataclass(o) else str(o))
    return {match.group(1) for match in PLACEHOLDER.finditer(text)}


def instances(hop: dp.Hop, known: dict[str, Any]) -> list[dict[str, Any]]:
    """One binding per combination of the records of the `Many` facts the hop uses."""
    roots = sorted(r for r in _roots([hop, dp.PRINCIPALS[hop.principal]]) if isinstance(known.get(r), Many))
    return [dict(zip(roots, combination)) for combination in itertools.product(*(known[r] for r in roots))]


# ---- requests ---------------------------------------------------------------------------------
@dataclasses.dataclass
class Request:
    hop: dp.Hop
    binding: dict[str, Any]
    principal: str
    action: str
    resource: str
    kms: bool  # a KMS call the hop makes AWS perform, not the hop's own action
    simulation: dict[str, Any] | None  # None: nothing to ask the simulator (see outcome)
    checked_keys: tuple[str, ...] = ()  # context keys the hop sets, which must exist for the action
    outcome: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def expect(self) -> str:
        return "Allowed" if self.kms else self.hop.expect

    def holds(self) -> bool:
        o = self.outcome
        if o.get("result") != self.expect or any(key in o.get("ignoredContextKeys", []) for key in self.checked_keys):
            return False
        denied_by = self.hop.denied_by
        if self.expect == "Allowed" or denied_by is None:
            return True
        if denied_by == "vpce":
            return "vpce" in o["blockedBy"]
        return any(s.endswith(f":{denied_by}") for part in o["parts"].values() if part for s in part["deny"])

    def explain(self) -> str:
        o, hop = self.outcome, self.hop
        where = f" [{', '.join(f'{k}={v}' for k, v in self.binding.items())}]" if self.binding else ""
        head = (f"{hop.id} {hop.src} -> {hop.dst}{where}: {hop.principal} ({self.principal}) {self.action} "
                f"on {self.resource}: {o.get('result')}, expected {self.expect}"
                + (f" (denied by {hop.denied_by})" if hop.denied_by and not self.kms else ""))
        if o.get("result") == "Error":
            return f"{head}; simulator error: {json.dumps(o.get('errors'))}"
        if o.get("result") == "NoVpcEndpoint":
            return f"{head}; the templates have no VPC endpoint com.amazonaws.{REGION}.{hop.endpoint}"
        if o.get("result") == "Unresolvable":
            return f"{head}; {o['error']}"
        parts = []
        for name, part in o["parts"].items():
            if part:
                parts.append(f"{name}: {part['result']} (allow {part['allow'] or 'none'}, deny {part['deny'] or 'none'})")
        if o["blockedBy"]:
            parts.append(f"blocked by {o['blockedBy']}")
        ignored = [key for key in self.checked_keys if key in o["ignoredContextKeys"]]
        if ignored:
            parts.append(f"context keys {ignored} do not exist for {self.action}")
        return f"{head}; " + "; ".join(parts)


@dataclasses.dataclass(frozen=True)
class Caller:
    principal: str  # the request's principal: an assumed-role session or a service principal
    identity: list[dict]  # its identity policies
    context: dict[str, Any]  # the global keys it brings (aws:PrincipalArn, aws:SourceAccount...)
    service: bool = False


class Evaluation:
    def __init__(self, templates: Templates) -> None:
        self.templates = templates
        self.known = facts(templates)

    def caller(self, hop: dp.Hop, binding: dict[str, Any]) -> Caller:
        spec = dp.PRINCIPALS[hop.principal]
        if isinstance(spec, dp.Service):
            return Caller(substitute(spec.name, self.known, binding), [], {"aws:SourceAccount": ACCOUNT}, service=True)
        if isinstance(spec, dp.Role):
            role = substitute(spec.arn, self.known, binding)
            policies = self.templates.identity_policies(role)
        else:
            role = f"arn:aws:iam::{ACCOUNT}:role/contract-{re.sub(r'[^a-z0-9]+', '-', hop.principal.lower())}"
            if isinstance(spec, dp.Holding):
                policies = [self.templates.managed_policy(substitute(arn, self.known, binding))
                            for arn in spec.policies]
            else:
                policies = [ALLOW_ALL] + [self.templates.managed_policy(substitute(arn, self.known, binding))
                                          for arn in spec.attached]
        session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[1]}/data-path-contract"
        return Caller(session, policies, {"aws:PrincipalAccount": ACCOUNT, "aws:PrincipalArn": role})

    def simulation(self, caller: Caller, action: str, resource: str, extra: dict[str, Any],
                   endpoint: dict | None) -> dict:
        """The iam-simulate request; `endpoint` is the VPC endpoint the call goes through."""
        context = {"aws:SecureTransport": "true", **caller.context}
        if action.startswith("s3:"):
            context["s3:TlsVersion"] = "1.2"
        if action.startswith("kms:") and not caller.service:
            context["kms:CallerAccount"] = ACCOUNT
        if endpoint:
            context.update({"aws:SourceVpce": endpoint["id"], "aws:SourceVpc": endpoint["vpc"]})
        simulation = {"request": {"principal": caller.principal, "action": action,
                                  "resource": {"resource": resource, "accountId": ACCOUNT},
                                  "contextVariables": {**context, **extra}},
                      "identityPolicies": caller.identity, "serviceControlPolicies": [], "resourceControlPolicies": []}
        policy = self.templates.resource_policy(resource)
        if policy:
            simulation["resourcePolicy"] = policy
        if endpoint:
            simulation["vpcEndpointPolicies"] = [{"name": "vpce", "policy": _any_principal(endpoint["policy"])}]
        return simulation

    def requests(self, hop: dp.Hop) -> list[Request]:
        try:
            return self._requests(hop)
        except Unresolvable as error:
            return [Request(hop, {}, "-", ",".join(hop.actions), ",".join(hop.resources), False, None,
                            outcome={"result": "Unresolvable", "error": str(error)})]

    def _requests(self, hop: dp.Hop) -> list[Request]:
        out = []
        endpoint = self.templates.vpc_endpoint(hop.endpoint) if hop.endpoint else None
        for binding in instances(hop, self.known):
            caller = self.caller(hop, binding)
            context = substitute(dict(hop.context), self.known, binding)
            for action in hop.actions:
                for resource in substitute(list(hop.resources), self.known, binding):
                    missing_endpoint = hop.endpoint is not None and endpoint is None
                    simulation = None if missing_endpoint else self.simulation(caller, action, resource, context, endpoint)
                    out.append(Request(hop, binding, caller.principal, action, resource, False, simulation,
                                       checked_keys=tuple(context)))
            # The KMS calls the hop makes AWS perform with the caller's credentials (never through our endpoints).
            calls = hop.kms if isinstance(hop.kms, tuple) else (hop.kms,) if hop.kms else ()
            for kms in (substitute(dataclasses.asdict(call), self.known, binding) for call in calls):
                extra = {f"kms:EncryptionContext:{k}": v for k, v in kms["context"].items()} | kms["request"]
                if kms["via"]:
                    extra.update({"kms:ViaService": f"{kms['via']}.{REGION}.amazonaws.com", "aws:ViaAWSService": "true"})
                for action in kms["actions"]:
                    out.append(Request(hop, binding, caller.principal, action, kms["key"], True,
                                       self.simulation(caller, action, kms["key"], extra, None),
                                       checked_keys=tuple(kms["request"])))
        return out


def _any_principal(policy: dict) -> dict:
    # CDK writes an endpoint policy's principal as {"AWS": "*"}, which AWS treats as "*"; the
    # simulator's endpoint-policy validation accepts only the "*" spelling.
    return {**policy, "Statement": [{**s, "Principal": "*"} if s.get("Principal") == {"AWS": "*"} else s
                                    for s in policy["Statement"]]}


def evaluate(templates: Templates, hops: tuple[dp.Hop, ...] = dp.HOPS) -> list[Request]:
    """Every request of every hop, with its outcome from one run of the simulator."""
    evaluation = Evaluation(templates)
    requests = [request for hop in hops for request in evaluation.requests(hop)]
    run(requests)
    return requests


def simulate(simulations: list[dict]) -> list[dict]:
    """The simulator's outcome of each iam-simulate Simulation, in order (one Node process)."""
    text = json.dumps({"requests": [{"id": i, "simulation": s} for i, s in enumerate(simulations)]})
    done = subprocess.run(["node", str(SIMULATE)], input=text, capture_output=True, text=True, check=True, timeout=120)
    return json.loads(done.stdout)


def run(requests: list[Request]) -> None:
    """Fill in each request's outcome."""
    asked = [r for r in requests if r.simulation is not None]
    for request, outcome in zip(asked, simulate([r.simulation for r in asked]), strict=True):
        request.outcome = outcome
    for request in requests:
        if request.simulation is None and not request.outcome:
            request.outcome = {"result": "NoVpcEndpoint", "parts": {}, "blockedBy": [], "ignoredContextKeys": []}
