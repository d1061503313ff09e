"""DataLakeStorage: a KMS-encrypted, tiered, access-logged S3 lake of zone buckets.

Layout inside every zone bucket: `<dataset>/year=YYYY/month=MM/day=DD/<file>` (Hive-style
partitions, so Glue, Athena and Firehose agree on them).

Usage, in any stack::

    lake = DataLakeStorage(stack, "Lake", name_prefix="acme", zones={
        "raw": ZoneTiering(infrequent_access_after_days=30, archive_after_days=90, expire_after_days=365),
        "curated": ZoneTiering(infrequent_access_after_days=90),
    })
    lake.zone("raw")  # an s3.Bucket; lake.key (one rotated CMK) encrypts every zone
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from patterns.bucket_emptier import empty_on_delete
from patterns.compliance import acknowledge, skip_checkov
from patterns.keys import customer_managed_key, removal_policy

ARCHIVE_CLASSES = {
    "GLACIER_IR": s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
    "GLACIER": s3.StorageClass.GLACIER,
    "DEEP_ARCHIVE": s3.StorageClass.DEEP_ARCHIVE,
}
ACCESS_LOGS_BUCKET_PURPOSE = "access-logs"  # <prefix>-access-logs-<account>-<region>
# S3 refuses Standard-IA before day 30 and a move on before 30 days in Standard-IA.
MIN_INFREQUENT_ACCESS_DAY = 30
MIN_DAYS_IN_INFREQUENT_ACCESS = 30
# Bucket names: at most 63 characters, of which the account id takes 12 and the region up to 16 (14 today).
BUCKET_NAME_MAX, ACCOUNT_AND_REGION = 63, 12 + 1 + 16
# Lowercase letters, digits and hyphens, a letter or digit at each end; no dots (they break TLS on
# virtual-hosted URLs), and none of S3's reserved prefixes.
NAME_PART = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_ACCESS_LOGS_BY_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"  # CDK feature flag

REPLICATION_RULES = (
    "HIPAA.Security-S3BucketReplicationEnabled",
    "NIST.800.53.R5-S3BucketReplicationEnabled",
    "PCI.DSS.321-S3BucketReplicationEnabled",
)
REPLICATION_REASON = (
    "Cross-region replication needs a destination bucket and key in a second region, which this "
    "region-agnostic single-region reference does not own; versioning protects against "
    "overwrites and deletes, and prod retains every bucket. Add a replica stack in your second "
    "region to satisfy this control."
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ZoneTiering:
    """Storage tiering of one zone: Standard -> Standard-IA -> an archive class -> expiry.

    None skips a step; the default keeps every object in Standard forever and expires replaced
    or deleted versions after 90 days. S3 requires day 30 or later for Standard-IA, 30 days in
    Standard-IA before the archive step, and expiry after the last transition.
    """

    infrequent_access_after_days: int | None = None
    archive_after_days: int | None = None
    archive_storage_class: Literal["GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"] = "GLACIER_IR"
    expire_after_days: int | None = None  # None: current versions are kept
    noncurrent_versions_expire_after_days: int = 90

    def __post_init__(self) -> None:
        if self.archive_storage_class not in ARCHIVE_CLASSES:
            raise ValueError(f"archive_storage_class={self.archive_storage_class!r}: use one of "
                             f"{', '.join(ARCHIVE_CLASSES)}")
        ia, archive, expire = self.infrequent_access_after_days, self.archive_after_days, self.expire_after_days
        if ia is not None and ia < MIN_INFREQUENT_ACCESS_DAY:
            raise ValueError(f"infrequent_access_after_days={ia}: S3 allows Standard-IA from day "
                             f"{MIN_INFREQUENT_ACCESS_DAY}")
        if ia is not None and archive is not None and archive < ia + MIN_DAYS_IN_INFREQUENT_ACCESS:
            raise ValueError(f"archive_after_days={archive}: use {ia + MIN_DAYS_IN_INFREQUENT_ACCESS} or later, "
                             f"{MIN_DAYS_IN_INFREQUENT_ACCESS} days after infrequent_access_after_days={ia}")
        last_transition = max((day for day in (ia, archive) if day is not None), default=None)
        if expire is not None and last_transition is not None and expire <= last_transition:
            raise ValueError(f"expire_after_days={expire}: use a day after the last transition (day "
                             f"{last_transition})")


def dataset_prefix(dataset: str, day: datetime.date | None = None) -> str:
    """Key prefix of `dataset` in a zone bucket, down to one day's partition when `day` is given."""
    if not dataset or "/" in dataset or "=" in dataset:
        raise ValueError(f"dataset={dataset!r}: use a non-empty name without '/' or '='")
    if day is None:
        return f"{dataset}/"
    return f"{dataset}/year={day:%Y}/month={day:%m}/day={day:%d}/"


def _check_bucket_names(name_prefix: str, zones: Sequence[str]) -> None:
    """Every bucket name `<prefix>-<zone or access-logs>-<account>-<region>` must follow S3's rules."""
    room = BUCKET_NAME_MAX - ACCOUNT_AND_REGION - len("--")
    longest_prefix = room - len(ACCESS_LOGS_BUCKET_PURPOSE)
    if not NAME_PART.fullmatch(name_prefix) or name_prefix.startswith(RESERVED_BUCKET_PREFIXES):
        raise ValueError(f"name_prefix={name_prefix!r}: use lowercase letters, digits and hyphens, a letter or "
                         f"digit at each end, not starting with {', '.join(RESERVED_BUCKET_PREFIXES)}")
    if len(name_prefix) > longest_prefix:
        raise ValueError(f"name_prefix={name_prefix!r} has {len(name_prefix)} characters: use at most "
                         f"{longest_prefix}, so <prefix>-{ACCESS_LOGS_BUCKET_PURPOSE}-<account>-<region> fits "
                         f"{BUCKET_NAME_MAX}")
    for zone in zones:
        if not NAME_PART.fullmatch(zone) or len(zone) > room - len(name_prefix):
            raise ValueError(f"zones: name {zone!r}: use 1 to {room - len(name_prefix)} lowercase letters, digits "
                             "and hyphens, a letter or digit at each end")


def bucket_name(name_prefix: str, purpose: str) -> str:
    """Globally unique, deterministic name: `<prefix>-<purpose>-<account>-<region>`."""
    return f"{name_prefix}-{purpose}-{Aws.ACCOUNT_ID}-{Aws.REGION}"


class DataLakeStorage(Construct):
    """One customer-managed key, one bucket per zone, one access-log bucket.

    Secure by default: SSE-KMS with bucket keys, TLS 1.2+ only, uploads that ask for another
    encryption (SSE-S3, SSE-C or another KMS key) denied, public access blocked, ACLs disabled,
    versioning, lifecycle tiering per zone and server access logs. Buckets and key are retained
    when the stack is deleted unless `destroy_on_removal` (which also empties the buckets).
    Bucket names are `<name_prefix>-<zone>-<account>-<region>`; a prefix or zone that would break S3's
    naming rules or 63 characters is refused.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name_prefix: str,
        zones: Mapping[str, ZoneTiering],
        abort_incomplete_multipart_upload_after_days: int = 7,
        access_logs_expire_after_days: int = 365,
        destroy_on_removal: bool = False,
        log_retention_days: int = 365,
    ) -> None:
        super().__init__(scope, id_)
        _check_bucket_names(name_prefix, list(zones))
        # Access logs are delivered by bucket policy: the LogDeliveryWrite ACL that CDK otherwise
        # uses is refused by ACL-disabled buckets. Set here so the lake needs no app-level flag.
        self.node.set_context(S3_ACCESS_LOGS_BY_POLICY, True)
        self._removal = removal_policy(destroy_on_removal)
        self._abort_multipart = Duration.days(abort_incomplete_multipart_upload_after_days)

        self.key = customer_managed_key(
            self,
            "Key",
            alias=f"alias/{name_prefix}-lake",
            description=f"{name_prefix}: encrypts every zone of the data lake",
            destroy_on_removal=destroy_on_removal,
            # Only the emptying function's log group needs it, and only a destroyable lake has one.
            for_log_groups=destroy_on_removal,
        )
        self.bucket_names = {zone: bucket_name(name_prefix, zone) for zone in zones}
        self.access_log_bucket = self._access_log_bucket(name_prefix, access_logs_expire_after_days)
        self.buckets: dict[str, s3.Bucket] = {
            zone: self._zone_bucket(name_prefix, zone, lifecycle) for zone, lifecycle in zones.items()
        }
        if destroy_on_removal:
            self._empty_on_delete(name_prefix, log_retention_days)

    def zone(self, name: str) -> s3.Bucket:
        if name not in self.buckets:
            raise KeyError(f"zone={name!r} is unknown: zones are {', '.join(self.buckets)}")
        return self.buckets[name]

    def bucket_arn(self, zone: str) -> str:
        """ARN of a zone bucket from its deterministic name (see `objects_arn`)."""
        self.zone(zone)
        return f"arn:{Aws.PARTITION}:s3:::{self.bucket_names[zone]}"

    def objects_arn(self, zone: str, key_pattern: str) -> str:
        """ARN of the objects matching `key_pattern` in a zone bucket, built from its deterministic
        name. It holds only pseudo parameters, so it reads the same in every stack (no cross-stack
        reference) and policies and cdk-nag findings show
        `arn:<AWS::Partition>:s3:::<prefix>-raw-<AWS::AccountId>-<AWS::Region>/<key_pattern>`."""
        return f"{self.bucket_arn(zone)}/{key_pattern}"

    def key_through_s3(self, sid: str, actions: list[str]) -> iam.PolicyStatement:
        """Use of the lake key, only as S3 makes it on the principal's behalf (kms:ViaService)."""
        return iam.PolicyStatement(sid=sid, actions=actions, resources=[self.key.key_arn],
                                   conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}})

    @property
    def raw(self) -> s3.Bucket:
        return self.zone("raw")

    @property
    def curated(self) -> s3.Bucket:
        return self.zone("curated")

    @property
    def results(self) -> s3.Bucket:
        return self.zone("results")

    # ------------------------------------------------------------------ buckets

    def _bucket(self, id_: str, **props) -> s3.Bucket:
        """Properties every bucket of the lake shares."""
        return s3.Bucket(
            self,
            id_,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            removal_policy=self._removal,
            **props,
        )

    def _access_log_bucket(self, name_prefix: str, expire_after_days: int) -> s3.Bucket:
        bucket = self._bucket(
            "AccessLogs",
            bucket_name=bucket_name(name_prefix, ACCESS_LOGS_BUCKET_PURPOSE),
            # S3 server access log delivery cannot write to a bucket whose default is SSE-KMS.
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(expire_after_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=self._abort_multipart,
                )
            ],
        )
        acknowledge(
            bucket,
            [
                "HIPAA.Security-S3DefaultEncryptionKMS",
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "PCI.DSS.321-S3DefaultEncryptionKMS",
            ],
            "S3 server access log delivery only supports SSE-S3 (AES256) default encryption on the "
            "destination bucket; it cannot write to a bucket whose default is SSE-KMS.",
        )
        acknowledge(bucket, REPLICATION_RULES, REPLICATION_REASON)
        skip_checkov(
            bucket,
            ["CKV_AWS_18"],
            "Access-log destination bucket: logging it into itself would log every log delivery.",
        )
        return bucket

    def _zone_bucket(self, name_prefix: str, zone: str, lifecycle: ZoneTiering) -> s3.Bucket:
        bucket = self._bucket(
            zone.capitalize(),
            bucket_name=self.bucket_names[zone],
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix=f"{zone}/",
            lifecycle_rules=[self._lifecycle_rule(zone, lifecycle)],
        )
        self._deny_other_encryption(bucket)
        acknowledge(bucket, REPLICATION_RULES, REPLICATION_REASON)
        return bucket

    def _empty_on_delete(self, name_prefix: str, log_retention_days: int) -> None:
        """One custom resource per bucket that empties it when the stack deletes it (S3 deletes only
        empty buckets), served by this lake's own function instead of CDK's `auto_delete_objects`
        provider, which template scanners flag and the in-app checks cannot see. The handler empties
        only a bucket still tagged EMPTY_ON_DELETE_TAG, so turning `destroy_on_removal` off (which
        removes the tag before the resources) never empties a retained bucket."""
        buckets = {"AccessLogs": (self.access_log_bucket, bucket_name(name_prefix, ACCESS_LOGS_BUCKET_PURPOSE)),
                   **{zone.capitalize(): (bucket, self.bucket_names[zone]) for zone, bucket in self.buckets.items()}}
        empty_on_delete(self, name=f"{name_prefix}-empty-lake-buckets", what="a lake bucket", buckets=buckets,
                        key=self.key, log_retention_days=log_retention_days,
                        wildcard_reason="It deletes every object of the lake's own buckets, whose keys it cannot "
                                        "know in advance, and only when the stack deletes them (sandbox lakes only).")

    def _lifecycle_rule(self, zone: str, lifecycle: ZoneTiering) -> s3.LifecycleRule:
        transitions = []
        if lifecycle.infrequent_access_after_days is not None:
            transitions.append(
                s3.Transition(
                    storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                    transition_after=Duration.days(lifecycle.infrequent_access_after_days),
                )
            )
        if lifecycle.archive_after_days is not None:
            transitions.append(
                s3.Transition(
                    storage_class=ARCHIVE_CLASSES[lifecycle.archive_storage_class],
                    transition_after=Duration.days(lifecycle.archive_after_days),
                )
            )
        expire = lifecycle.expire_after_days
        return s3.LifecycleRule(
            id=f"{zone}-tiering",
            transitions=transitions or None,
            expiration=Duration.days(expire) if expire is not None else None,
            noncurrent_version_expiration=Duration.days(lifecycle.noncurrent_versions_expire_after_days),
            abort_incomplete_multipart_upload_after=self._abort_multipart,
        )

    def _deny_other_encryption(self, bucket: s3.Bucket) -> None:
        """Deny uploads that ask for anything but SSE-KMS with the lake key.

        Deliberately *not* the seed's bare `StringNotEquals` form: that also denies uploads which
        send no encryption header, and several writers rely on the bucket default instead (the
        default here is SSE-KMS with the lake key, so those objects are encrypted correctly).
        The `Null: false` condition limits each statement to requests that do send the header.
        Writers configured with the lake key (Firehose, Athena, Glue, SageMaker) send
        `aws:kms` plus the key ARN and pass; a client naming the key by id or alias is denied.
        """
        denied_requests = {
            "DenyUploadsNotUsingSseKms": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                "Null": {"s3:x-amz-server-side-encryption": "false"},
            },
            "DenyUploadsUsingAnotherKmsKey": {
                "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": self.key.key_arn},
                "Null": {"s3:x-amz-server-side-encryption-aws-kms-key-id": "false"},
            },
            # SSE-C requests carry no x-amz-server-side-encryption header, so the statements
            # above would let them through with a customer-held key the lake cannot audit.
            "DenyUploadsUsingSseC": {
                "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"},
            },
        }
        for sid, conditions in denied_requests.items():
            bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid,
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:PutObject"],
                    resources=[bucket.arn_for_objects("*")],
                    conditions=conditions,
                )
            )
