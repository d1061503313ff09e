"""Service roles whose permissions live in one customer-managed policy (never inline)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from constructs import Construct


def service_role(
    scope: Construct,
    id_: str,
    *,
    service: str,
    description: str,
    statements: Sequence[iam.PolicyStatement],
    trust_conditions: Mapping[str, Any] | None = None,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """A role `service` may assume, and the managed policy that holds all its permissions.

    HIPAA, NIST 800-53 and PCI DSS checks reject inline policies, and CDK grants would add one:
    build the statements explicitly and pass the role on as `role.without_policy_updates()` where
    a construct would otherwise grant itself more.
    """
    role = iam.Role(
        scope,
        f"{id_}Role",
        assumed_by=iam.ServicePrincipal(service, conditions=dict(trust_conditions) if trust_conditions else None),
        description=description,
    )
    policy = iam.ManagedPolicy(scope, f"{id_}Policy", description=description, roles=[role], statements=list(statements))
    return role, policy


def depend_on_policy_only(construct: Construct, policy: iam.ManagedPolicy) -> None:
    """Make `construct`'s resource wait for `policy` and nothing else.

    L2 constructs given a role add a DependsOn on that role, which their Role/RoleArn property
    already references (cfn-lint W3005); what they must wait for is the policy that grants them
    their permissions.
    """
    resource = construct.node.default_child
    resource.add_override("DependsOn", [Stack.of(construct).get_logical_id(policy.node.default_child)])
