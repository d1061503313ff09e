"""ModelPackageGroup: a SageMaker model registry group, and the EventBridge pattern of its approvals.

Every trained model becomes a versioned model package in the group; a package is deployed only once
its ModelApprovalStatus is `Approved` (by a person, or by the pipeline when approval is automatic).
SageMaker emits a "SageMaker Model Package State Change" event on the default bus for every change
of a package (creation, approval, rejection), with `detail.ModelPackageGroupName`,
`detail.ModelPackageArn` and `detail.ModelApprovalStatus`; `approved_package_pattern` matches only
the approvals of this group.

Usage, in any stack::

    registry = ModelPackageGroup(stack, "Registry", name="acme-models", destroy_on_removal=False)
    registry.group_name, registry.group_arn, registry.packages_arn  # for roles
    events.Rule(stack, "OnApproval", event_pattern=approved_package_pattern(registry.group_name))
"""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from patterns.arns import regional_arn
from patterns.keys import removal_policy

PACKAGE_STATE_CHANGE = "SageMaker Model Package State Change"
APPROVED = "Approved"
PENDING = "PendingManualApproval"


def approved_package_pattern(group_name: str) -> events.EventPattern:
    """Approvals of the packages of one group: an Approved package of another group, or a package of
    this group that is pending or rejected, matches nothing."""
    return events.EventPattern(source=["aws.sagemaker"], detail_type=[PACKAGE_STATE_CHANGE],
                               detail={"ModelPackageGroupName": [group_name], "ModelApprovalStatus": [APPROVED]})


class ModelPackageGroup(Construct):
    """A model package group, retained with the stack unless `destroy_on_removal`."""

    def __init__(self, scope: Construct, id_: str, *, name: str, description: str = "",
                 destroy_on_removal: bool = False) -> None:
        """`name`: 1..63 letters, digits and hyphens (the group's ARN and every package ARN use it)."""
        super().__init__(scope, id_)
        self.group = sagemaker.CfnModelPackageGroup(
            self, "Group", model_package_group_name=name,
            model_package_group_description=description or f"{name}: trained models, deployed once Approved")
        # The group holds the model history: it outlives the stack unless the data may be destroyed.
        self.group.apply_removal_policy(removal_policy(destroy_on_removal))
        self.group_name = name
        self.group_arn = regional_arn("sagemaker", f"model-package-group/{name}")
        # Versioned packages are `model-package/<group>/<version>`.
        self.packages_arn = regional_arn("sagemaker", f"model-package/{name}/*")
