"""Resources and values several stacks share, each owned by one place.

`build_app` builds one `Shared` from the stacks that own the resources and passes it to the
stacks that use them; no stack reaches into another's settings or constructs for these.

- `alerts`: owned by StreamingStack (the app's alerts topic); used by SageMaker's endpoint alarms.
- `ml_key`: owned by MlNetworkStack (it encrypts the flow logs too); used by SageMaker for volumes,
  endpoint storage, the notebook and the pipeline's logs.
- `app_log_retention_days`: the app-wide setting `log_retention_days` (top level of the settings, so
  Streaming reads it there like any stack); carried here to SageMaker's pipeline logs. The VPC flow
  logs have their own, `network.flow_log_retention_days`.
"""

from __future__ import annotations

import dataclasses

from aws_cdk import aws_kms as kms

from patterns.alerts import AlertsTopic


@dataclasses.dataclass(frozen=True)
class Shared:
    alerts: AlertsTopic  # every alarm of the app notifies it
    ml_key: kms.IKey  # encrypts everything of the ML stacks at rest
    app_log_retention_days: int  # retention of the app's log groups (VPC flow logs have their own)
