"""AuditTrail: a CloudTrail trail into a dedicated, KMS-encrypted, access-logged, lifecycle-managed bucket
(optionally Object Lock, optionally CloudWatch Logs); TrailTable: the Glue table Athena reads it through
(CloudTrail's documented columns, partition projection on account, region and date); AuditQueries: an
Athena workgroup, saved queries over the table and the managed policy auditors attach.

CloudTrail's event history keeps 90 days of management events; a trail keeps them (and the data
events it is asked for) as long as the bucket's lifecycle says, where Athena can query them.

Usage, in any stack::

    trail = AuditTrail(stack, "Trail", name="acme-audit", bucket_name="acme-audit-111122223333-eu-west-1",
                       access_log_bucket_name="acme-audit-logs-111122223333-eu-west-1",
                       key_alias="alias/acme-audit", data_event_buckets=[lake.bucket_arn("curated")],
                       data_events="read", object_lock=ObjectLock(mode="GOVERNANCE", days=365),
                       cloudwatch_logs_retention_days=90)
    table = TrailTable(stack, "Table", trail=trail, database_name="acme_audit")
    queries = AuditQueries(stack, "Queries", name="acme-audit", trail=trail, table=table,
                           results_bucket_name=lake.bucket_names["results"], results_key=lake.key,
                           results_prefix="audit/",
                           queries=[DENIED_CALLS, POLICY_CHANGES])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Literal

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_athena as athena
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from patterns.arns import regional_arn
from patterns.athena import WORKGROUP_QUERY_ACTIONS
from patterns.bucket_emptier import empty_on_delete
from patterns.compliance import acknowledge, finding_reference, skip_checkov
from patterns.keys import customer_managed_key, removal_policy
from patterns.log_groups import encrypted_log_group, log_stream_arn
from patterns.roles import service_role
from patterns.saved_queries import SavedQuery

CLOUDTRAIL = "cloudtrail.amazonaws.com"
DATA_EVENTS = ("none", "read", "write", "all")
# Where CloudTrail writes (no S3 key prefix on the trail): AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/
LOGS_PREFIX = "AWSLogs/"
FIRST_PROJECTED_DAY = "2024/01/01"  # fixed, so two synths in any year give the same template
# The regions a multi-region trail records in (the commercial partition's regions enabled by default
# or opt-in as of 2026-11); a single-region trail projects only its own region.
ALL_REGIONS = (
    "af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
    "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
    "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
# CloudTrail's documented Athena DDL (CloudTrailSerde): column -> Hive type.
COLUMNS = (
    ("eventversion", "string"),
    ("useridentity", "struct<type:string,principalid:string,arn:string,accountid:string,invokedby:string,"
                     "accesskeyid:string,username:string,sessioncontext:struct<attributes:struct<"
                     "mfaauthenticated:string,creationdate:string>,sessionissuer:struct<type:string,"
                     "principalid:string,arn:string,accountid:string,username:string>,sourceidentity:string,"
                     "ec2roledelivery:string,webidfederationdata:map<string,string>>>"),
    ("eventtime", "string"),
    ("eventsource", "string"),
    ("eventname", "string"),
    ("awsregion", "string"),
    ("sourceipaddress", "string"),
    ("useragent", "string"),
    ("errorcode", "string"),
    ("errormessage", "string"),
    ("requestparameters", "string"),
    ("responseelements", "string"),
    ("additionaleventdata", "string"),
    ("requestid", "string"),
    ("eventid", "string"),
    ("resources", "array<struct<arn:string,accountid:string,type:string>>"),
    ("eventtype", "string"),
    ("apiversion", "string"),
    ("readonly", "string"),
    ("recipientaccountid", "string"),
    ("serviceeventdetails", "string"),
    ("sharedeventid", "string"),
    ("vpcendpointid", "string"),
    ("tlsdetails", "struct<tlsversion:string,ciphersuite:string,clientprovidedhostheader:string>"),
)
PARTITION_KEYS = ("account", "region", "date")
CLOUDTRAIL_SERDE = {
    "input_format": "com.amazon.emr.cloudtrail.CloudTrailInputFormat",
    "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
    "serde": "com.amazon.emr.hive.serde.CloudTrailSerde",
}
BYTES_PER_MB = 1_000_000
EMPTIER_LOG_RETENTION_DAYS = 30  # the emptying function's own log group (it runs once, at teardown)
MIN_CUTOFF_MB = 10  # Athena refuses a per-query cutoff below 10,000,000 bytes


def trail_arn(name: str) -> str:
    """The trail's ARN from its name: policies name it without referencing the trail (which must wait
    for them, so a reference would be a cycle)."""
    return regional_arn("cloudtrail", f"trail/{name}")


def any_trail_of_this_account() -> str:
    """What CloudTrail puts in the `aws:cloudtrail:arn` encryption context, for any trail of this account."""
    return f"arn:{Aws.PARTITION}:cloudtrail:*:{Aws.ACCOUNT_ID}:trail/*"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ObjectLock:
    """Default retention of every log file: GOVERNANCE (users with s3:BypassGovernanceRetention may
    delete early) or COMPLIANCE (nobody, not even root, until the days pass)."""

    mode: Literal["GOVERNANCE", "COMPLIANCE"]
    days: int

    def __post_init__(self) -> None:
        if self.mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"object_lock mode={self.mode!r}: use GOVERNANCE or COMPLIANCE")
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= 36500:
            raise ValueError(f"object_lock days={self.days!r}: use 1..36500")


class AuditTrail(Construct):
    """A trail (multi-region unless told otherwise) with log-file validation, encrypted with a
    dedicated rotated key (`key=None`) or the key given, into its own bucket.

    Bucket: SSE-KMS with the trail's key, TLS 1.2+ only, public access blocked, ACLs disabled,
    versioned, server access logs into a second bucket (SSE-S3: access-log delivery cannot use KMS),
    expiry after `expire_after_days` (an optional Glacier Instant Retrieval step before; a deleted
    or overwritten version is kept as long again, so it can be restored), and Object Lock when
    `object_lock` is given (the bucket must be created with it; a locked bucket is retained whatever
    `destroy_on_removal` says; an unlocked destroyable one is emptied on teardown). The bucket
    policy lets only this trail (`aws:SourceArn`) read the bucket ACL and write under
    `AWSLogs/<account>/` with `bucket-owner-full-control`.

    Events: every management event, and S3 object-level data events (`data_events`: none, read,
    write or all) for the objects of `data_event_buckets` (bucket ARNs). With
    `cloudwatch_logs_retention_days`, events also go to a log group encrypted with the trail's key,
    through a role that may only create and write this trail's log streams in that group.
    """

    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        name: str,
        bucket_name: str,
        access_log_bucket_name: str,
        key: kms.Key | None = None,
        key_alias: str | None = None,
        multi_region: bool = True,
        data_event_buckets: Sequence[str] = (),
        data_events: Literal["none", "read", "write", "all"] = "none",
        expire_after_days: int = 365,
        archive_after_days: int | None = None,
        object_lock: ObjectLock | None = None,
        cloudwatch_logs_retention_days: int | None = None,
        destroy_on_removal: bool = False,
    ) -> None:
        super().__init__(scope, id_)
        # Access logs are delivered by bucket policy (ACL-disabled buckets refuse the LogDeliveryWrite
        # ACL CDK otherwise uses); set here so the pattern needs no app-level flag.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        if data_events not in DATA_EVENTS:
            raise ValueError(f"data_events={data_events!r}: use one of {', '.join(DATA_EVENTS)}")
        if data_events != "none" and not data_event_buckets:
            raise ValueError(f"data_events={data_events!r} needs data_event_buckets (bucket ARNs)")
        if archive_after_days is not None and expire_after_days <= archive_after_days:
            raise ValueError(f"expire_after_days={expire_after_days}: use a day after archive_after_days="
                             f"{archive_after_days}")
        if object_lock and expire_after_days < object_lock.days:
            raise ValueError(f"expire_after_days={expire_after_days}: use at least the Object Lock retention "
                             f"({object_lock.days} days); S3 cannot expire a locked version")
        self.name = name
        self.arn = trail_arn(name)
        self.multi_region = multi_region
        self.data_events = data_events
        if key is None:
            if not key_alias:
                raise ValueError("key_alias is required when no key is given (the trail's dedicated key)")
            key = customer_managed_key(self, "Key", alias=key_alias, description=f"{name}: encrypts the audit trail",
                                       destroy_on_removal=destroy_on_removal,
                                       # the trail's log group, or the emptying function's
                                       for_log_groups=cloudwatch_logs_retention_days is not None or destroy_on_removal)
        self.key = key
        self._allow_cloudtrail_to_use(key)
        self.access_log_bucket = self._access_log_bucket(access_log_bucket_name, expire_after_days, destroy_on_removal)
        self.bucket = self._trail_bucket(bucket_name, expire_after_days, archive_after_days, object_lock,
                                         destroy_on_removal)
        self.log_group = self.log_role = None
        if cloudwatch_logs_retention_days is not None:
            self._cloudwatch_logs(cloudwatch_logs_retention_days, destroy_on_removal)
        self.trail = cloudtrail.CfnTrail(
            self,
            "Trail",
            trail_name=name,
            is_logging=True,
            s3_bucket_name=self.bucket.bucket_name,
            is_multi_region_trail=multi_region,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=key.key_arn,
            cloud_watch_logs_log_group_arn=self.log_group.log_group_arn if self.log_group else None,
            cloud_watch_logs_role_arn=self.log_role.role_arn if self.log_role else None,
            advanced_event_selectors=self._selectors(data_event_buckets),
        )
        # CloudTrail checks the bucket policy (and the role's policy) when the trail is created.
        self.trail.node.add_dependency(self.bucket.policy)
        if self.log_role:
            self.trail.node.add_dependency(self._log_policy)
        if destroy_on_removal:
            self._empty_on_delete(name, bucket_name, access_log_bucket_name, object_lock is None)
        if not multi_region:
            skip_checkov(self.trail, ["CKV_AWS_67"], "Single-region by the audit.multi_region setting (a sandbox "
                         "that records one region); prod records every region.")
        if self.log_group is None:
            acknowledge(self.trail, ["HIPAA.Security-CloudTrailCloudWatchLogsEnabled",
                                     "NIST.800.53.R5-CloudTrailCloudWatchLogsEnabled",
                                     "PCI.DSS.321-CloudTrailCloudWatchLogsEnabled"],
                        "CloudWatch Logs delivery is off by the audit.cloudwatch_logs setting (sandbox): the trail "
                        "is kept in S3 and queried with Athena; prod turns the delivery on.")

    def log_file_prefix(self, region: str | None = None) -> str:
        """The key prefix CloudTrail writes this account's log files under (all regions when None)."""
        return f"{LOGS_PREFIX}{Aws.ACCOUNT_ID}/CloudTrail/" + (f"{region}/" if region else "")

    # ------------------------------------------------------------------ key and buckets

    def _allow_cloudtrail_to_use(self, key: kms.Key) -> None:
        only_this_trail = {"aws:SourceArn": self.arn}
        statements = [
            iam.PolicyStatement(
                sid="AllowThisTrailToEncryptLogFiles", principals=[iam.ServicePrincipal(CLOUDTRAIL)],
                actions=["kms:GenerateDataKey*"], resources=["*"],
                conditions={"StringEquals": only_this_trail,
                            "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": any_trail_of_this_account()}}),
            iam.PolicyStatement(
                sid="AllowThisTrailToDescribeTheKey", principals=[iam.ServicePrincipal(CLOUDTRAIL)],
                actions=["kms:DescribeKey"], resources=["*"], conditions={"StringEquals": only_this_trail}),
        ]
        for statement in statements:
            if not key.add_to_resource_policy(statement).statement_added:
                raise ValueError("key: pass a kms.Key this app owns; CloudTrail needs statements in its key policy")

    def _bucket(self, id_: str, **props) -> s3.Bucket:
        return s3.Bucket(
            self, id_, enforce_ssl=True, minimum_tls_version=1.2, block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED, versioned=True, **props)

    def _access_log_bucket(self, name: str, expire_after_days: int, destroy: bool) -> s3.Bucket:
        bucket = self._bucket(
            "AccessLogs", bucket_name=name, encryption=s3.BucketEncryption.S3_MANAGED,
            removal_policy=removal_policy(destroy),
            lifecycle_rules=[s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(expire_after_days),
                                              noncurrent_version_expiration=Duration.days(1),
                                              abort_incomplete_multipart_upload_after=Duration.days(1))])
        acknowledge(bucket, ["HIPAA.Security-S3DefaultEncryptionKMS", "NIST.800.53.R5-S3DefaultEncryptionKMS",
                             "PCI.DSS.321-S3DefaultEncryptionKMS"],
                    "S3 server access log delivery only supports SSE-S3 (AES256) default encryption on the "
                    "destination bucket; it cannot write to a bucket whose default is SSE-KMS.")
        self._acknowledge_replication(bucket)
        skip_checkov(bucket, ["CKV_AWS_18"], "Access-log destination of the audit bucket: logging it into itself "
                     "would log every log delivery, and into the audit bucket would make the trail log its own reads.")
        return bucket

    def _trail_bucket(self, name: str, expire_after_days: int, archive_after_days: int | None,
                      object_lock: ObjectLock | None, destroy: bool) -> s3.Bucket:
        retention = None
        if object_lock:
            days = Duration.days(object_lock.days)
            retention = (s3.ObjectLockRetention.compliance(days) if object_lock.mode == "COMPLIANCE"
                         else s3.ObjectLockRetention.governance(days))
        bucket = self._bucket(
            "Bucket", bucket_name=name, encryption=s3.BucketEncryption.KMS, encryption_key=self.key,
            # A locked bucket cannot be emptied, so CloudFormation could never delete it: always retained.
            removal_policy=RemovalPolicy.RETAIN if object_lock else removal_policy(destroy),
            object_lock_enabled=True if object_lock else None, object_lock_default_retention=retention,
            server_access_logs_bucket=self.access_log_bucket, server_access_logs_prefix="audit/",
            lifecycle_rules=[s3.LifecycleRule(
                id="audit-retention",
                transitions=[s3.Transition(storage_class=s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
                                           transition_after=Duration.days(archive_after_days))]
                if archive_after_days is not None else None,
                expiration=Duration.days(expire_after_days),
                # A deleted or overwritten log file stays recoverable as long as any log file is kept:
                # a plain DELETE (a delete marker, allowed even under Object Lock) must not shorten the
                # retention to the lock's days, or to one day without a lock.
                noncurrent_version_expiration=Duration.days(expire_after_days),
                abort_incomplete_multipart_upload_after=Duration.days(1))],
        )
        only_this_trail = {"aws:SourceArn": self.arn}
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowThisTrailToCheckTheBucketAcl", principals=[iam.ServicePrincipal(CLOUDTRAIL)],
            actions=["s3:GetBucketAcl"], resources=[bucket.bucket_arn],
            conditions={"StringEquals": only_this_trail}))
        bucket.add_to_resource_policy(iam.PolicyStatement(
            sid="AllowThisTrailToWriteLogFiles", principals=[iam.ServicePrincipal(CLOUDTRAIL)],
            actions=["s3:PutObject"], resources=[bucket.arn_for_objects(f"{LOGS_PREFIX}{Aws.ACCOUNT_ID}/*")],
            conditions={"StringEquals": {**only_this_trail, "s3:x-amz-acl": "bucket-owner-full-control"}}))
        # Like the lake: refuse uploads that ask for another algorithm or a customer key (Null: only
        # requests that send the header; CloudTrail sends aws:kms with the trail's key).
        for sid, conditions in {
            "DenyUploadsNotUsingSseKms": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
                                          "Null": {"s3:x-amz-server-side-encryption": "false"}},
            "DenyUploadsUsingSseC": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
        }.items():
            bucket.add_to_resource_policy(iam.PolicyStatement(
                sid=sid, effect=iam.Effect.DENY, principals=[iam.AnyPrincipal()], actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects("*")], conditions=conditions))
        self._acknowledge_replication(bucket)
        return bucket

    @staticmethod
    def _acknowledge_replication(bucket: s3.Bucket) -> None:
        acknowledge(bucket, ["HIPAA.Security-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled",
                             "PCI.DSS.321-S3BucketReplicationEnabled"],
                    "Cross-region replication of the audit trail needs a destination bucket and key in a second "
                    "region that this region-agnostic reference does not own; versioning (and Object Lock in "
                    "prod) protect the log files, and log-file validation proves they are unchanged.")

    def _empty_on_delete(self, name: str, bucket_name: str, access_log_bucket_name: str, trail_bucket: bool) -> None:
        """Destroyable buckets must be emptied before CloudFormation can delete them: one
        Custom::EmptyBucketOnDelete per bucket (the lake's handler, which empties only a bucket still
        tagged EMPTY_ON_DELETE_TAG). The trail waits for them, so on teardown the trail stops writing
        before its bucket is emptied; the trail bucket, so its last access logs land before the
        access-log bucket is emptied. A locked trail bucket is never emptied (it is retained)."""
        buckets = {"AccessLogs": (self.access_log_bucket, access_log_bucket_name)}
        if trail_bucket:
            buckets["Bucket"] = (self.bucket, bucket_name)
        self.emptiers = empty_on_delete(
            self, name=f"{name}-empty-buckets", what="an audit bucket", buckets=buckets, key=self.key,
            log_retention_days=EMPTIER_LOG_RETENTION_DAYS,
            wildcard_reason="It deletes every object of the audit trail's own buckets (log files CloudTrail and "
                            "S3 named at run time), and only when the stack deletes them (sandbox only).")
        for emptier in self.emptiers.values():
            self.trail.node.add_dependency(emptier)
        if trail_bucket:
            self.bucket.node.add_dependency(self.emptiers["AccessLogs"])

    # ------------------------------------------------------------------ CloudWatch Logs

    def _cloudwatch_logs(self, retention_days: int, destroy: bool) -> None:
        group_name = f"/aws/cloudtrail/{self.name}"
        self.log_group = encrypted_log_group(self, "LogGroup", key=self.key, name=group_name,
                                             retention_days=retention_days, destroy_on_removal=destroy)
        # CloudTrail names one stream per region: <account>_CloudTrail_<region>.
        self.log_streams_arn = log_stream_arn(group_name, f"{Aws.ACCOUNT_ID}_CloudTrail_*")
        self.log_role, self._log_policy = service_role(
            self, "CloudWatchLogs", service=CLOUDTRAIL,
            description=f"{self.name}: CloudTrail writes the trail's events to its log group",
            statements=[iam.PolicyStatement(sid="WriteThisTrailsLogStreams",
                                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                                            resources=[self.log_streams_arn])],
            # No aws:SourceArn trust condition: AWS documents none for this role, and a condition CloudTrail
            # does not send would fail CreateTrail (InvalidCloudWatchLogsRoleArnException).
        )
        acknowledge(self._log_policy, [f"AwsSolutions-IAM5[Resource::{finding_reference(self, self.log_streams_arn)}]"],
                    "CloudTrail creates one stream per recorded region, named <account>_CloudTrail_<region>; the "
                    "wildcard covers exactly those streams of this trail's log group.")

    # ------------------------------------------------------------------ event selectors

    def _selectors(self, buckets: Sequence[str]) -> list[cloudtrail.CfnTrail.AdvancedEventSelectorProperty]:
        field = cloudtrail.CfnTrail.AdvancedFieldSelectorProperty
        selectors = [cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
            name="Every management event", field_selectors=[field(field="eventCategory", equal_to=["Management"])])]
        if self.data_events != "none":
            fields = [field(field="eventCategory", equal_to=["Data"]),
                      field(field="resources.type", equal_to=["AWS::S3::Object"]),
                      field(field="resources.ARN", starts_with=[f"{arn}/" for arn in buckets])]
            if self.data_events != "all":
                fields.append(field(field="readOnly", equal_to=["true" if self.data_events == "read" else "false"]))
            selectors.append(cloudtrail.CfnTrail.AdvancedEventSelectorProperty(
                name=f"S3 object {self.data_events} events of the lake", field_selectors=fields))
        return selectors


class TrailTable(Construct):
    """Glue database `database_name` and table `table_name` over the trail's log files, with
    CloudTrail's documented columns and SerDe, and partition projection on account (this one), region
    (the trail's regions) and date (yyyy/MM/dd since 2024/01/01): new days are queryable with no
    crawler and no `MSCK REPAIR TABLE`. Filter on "date" (quoted: a keyword) to bound the scan."""

    def __init__(self, scope: Construct, id_: str, *, trail: AuditTrail, database_name: str,
                 table_name: str = "cloudtrail", destroy_on_removal: bool = False) -> None:
        super().__init__(scope, id_)
        self.database_name, self.table_name = database_name, table_name
        self.location = f"s3://{trail.bucket.bucket_name}/{LOGS_PREFIX}"
        self.location_template = self.location + "${account}/CloudTrail/${region}/${date}/"
        regions = ",".join(ALL_REGIONS) if trail.multi_region else Aws.REGION
        self.database = glue.CfnDatabase(
            self, "Database", catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name, description=f"Audit trail {trail.name} (CloudTrail log files)"))
        self.table = glue.CfnTable(
            self, "Table", catalog_id=Aws.ACCOUNT_ID, database_name=database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=table_name, description=f"CloudTrail events of trail {trail.name}", table_type="EXTERNAL_TABLE",
                partition_keys=[glue.CfnTable.ColumnProperty(name=k, type="string") for k in PARTITION_KEYS],
                parameters={
                    "classification": "cloudtrail",
                    "projection.enabled": "true",
                    "projection.account.type": "enum",
                    "projection.account.values": Aws.ACCOUNT_ID,
                    "projection.region.type": "enum",
                    "projection.region.values": regions,
                    "projection.date.type": "date",
                    "projection.date.format": "yyyy/MM/dd",
                    "projection.date.range": f"{FIRST_PROJECTED_DAY},NOW",
                    "projection.date.interval": "1",
                    "projection.date.interval.unit": "DAYS",
                    "storage.location.template": self.location_template,
                },
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=[glue.CfnTable.ColumnProperty(name=n, type=t) for n, t in COLUMNS],
                    location=self.location, input_format=CLOUDTRAIL_SERDE["input_format"],
                    output_format=CLOUDTRAIL_SERDE["output_format"],
                    serde_info=glue.CfnTable.SerdeInfoProperty(serialization_library=CLOUDTRAIL_SERDE["serde"])),
            ),
        )
        self.table.node.add_dependency(self.database)
        for resource in (self.database, self.table):
            resource.apply_removal_policy(removal_policy(destroy_on_removal))


class AuditQueries(Construct):
    """Workgroup `name` (settings enforced, engine 3, results SSE-KMS under `results_prefix` of the
    bucket `results_bucket_name` (a name: no cross-stack reference), every query capped at
    `bytes_scanned_cutoff_mb`), `queries` saved in it over
    the trail table, and the managed policy `<name>-auditor` for the people who run them: query in
    this workgroup, read this table's catalog, read the trail's log files (the trail's key through S3,
    for this account's trails only) and write results under the prefix. Nothing else: the lake's
    analysts cannot read the trail, and auditors cannot delete it."""

    def __init__(self, scope: Construct, id_: str, *, name: str, trail: AuditTrail, table: TrailTable,
                 results_bucket_name: str, results_key: kms.IKey, results_prefix: str,
                 queries: Sequence[SavedQuery], bytes_scanned_cutoff_mb: int = 1024,
                 destroy_on_removal: bool = False) -> None:
        super().__init__(scope, id_)
        if bytes_scanned_cutoff_mb < MIN_CUTOFF_MB:
            raise ValueError(f"bytes_scanned_cutoff_mb={bytes_scanned_cutoff_mb!r}: Athena's minimum is "
                             f"{MIN_CUTOFF_MB} (MB)")
        if not results_prefix.endswith("/") or results_prefix.startswith("/"):
            raise ValueError(f"results_prefix={results_prefix!r}: use a key prefix such as 'audit/'")
        self.workgroup = athena.CfnWorkGroup(
            self, "WorkGroup", name=name, description=f"Queries over the audit trail {trail.name}", state="ENABLED",
            recursive_delete_option=destroy_on_removal,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True, publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=bytes_scanned_cutoff_mb * BYTES_PER_MB,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version="Athena engine version 3"),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results_bucket_name}/{results_prefix}",
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=results_key.key_arn))))
        self.queries = {
            query.name: athena.CfnNamedQuery(
                self, f"{query.name.title().replace('-', '')}Query", name=query.name, description=query.description,
                database=table.database_name, work_group=self.workgroup.ref,
                query_string=query.sql(table.database_name, table.table_name))
            for query in queries
        }
        log_files = trail.bucket.arn_for_objects(trail.log_file_prefix() + "*")
        results_bucket_arn = f"arn:{Aws.PARTITION}:s3:::{results_bucket_name}"
        results = f"{results_bucket_arn}/{results_prefix}*"
        tables = regional_arn("glue", f"table/{table.database_name}/{table.table_name}")
        via_s3 = {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}
        self.policy = iam.ManagedPolicy(
            self, "Policy", managed_policy_name=f"{name}-auditor",
            description=f"Attach to auditors: queries in workgroup {name} over the audit trail",
            statements=[
                iam.PolicyStatement(sid="QueryInTheAuditWorkgroup", actions=WORKGROUP_QUERY_ACTIONS,
                                    resources=[regional_arn("athena", f"workgroup/{name}")]),
                iam.PolicyStatement(sid="ReadTheTrailTable", actions=[
                    "glue:GetDatabase", "glue:GetTable", "glue:GetPartition", "glue:GetPartitions",
                    "glue:BatchGetPartition"], resources=[regional_arn("glue", "catalog"),
                                                          regional_arn("glue", f"database/{table.database_name}"),
                                                          tables]),
                iam.PolicyStatement(sid="ListTheTrailAndResults", actions=["s3:ListBucket", "s3:GetBucketLocation"],
                                    resources=[trail.bucket.bucket_arn, results_bucket_arn]),
                iam.PolicyStatement(sid="ReadTheLogFiles", actions=["s3:GetObject"], resources=[log_files]),
                iam.PolicyStatement(sid="WriteResults", actions=["s3:GetObject", "s3:PutObject",
                                                                  "s3:AbortMultipartUpload"], resources=[results]),
                iam.PolicyStatement(sid="DecryptLogFilesThroughS3", actions=["kms:Decrypt"],
                                    resources=[trail.key.key_arn],
                                    conditions={"StringEquals": via_s3, "StringLike": {
                                        "kms:EncryptionContext:aws:cloudtrail:arn": any_trail_of_this_account()}}),
                iam.PolicyStatement(sid="UseTheResultsKeyThroughS3", actions=["kms:Decrypt", "kms:GenerateDataKey"],
                                    resources=[results_key.key_arn], conditions={"StringEquals": via_s3}),
            ],
        )
        acknowledge(
            self.policy,
            [f"AwsSolutions-IAM5[Resource::{finding_reference(self, arn)}]" for arn in (log_files, results)],
            "Queries read whichever log files CloudTrail wrote for this account (one per region, day and "
            "delivery, named at run time) and write result files Athena names at run time under the "
            "workgroup's prefix; nothing else in either bucket.",
        )


def reads_of(*, name: str, description: str, bucket_name_stem: str, key_prefix: str) -> SavedQuery:
    """Who read objects under `key_prefix` of the bucket `<bucket_name_stem><account>-<region>` (the
    lake's naming), over the last 30 days: the event's own account and region complete the name, so
    the SQL holds no deploy-time value."""
    return SavedQuery(name=name, description=description, template=f"""
SELECT useridentity.arn AS principal, useridentity.type AS principal_type,
       json_extract_scalar(requestparameters, '$.key') AS object_key,
       count(*) AS reads, min(eventtime) AS first_read, max(eventtime) AS last_read
FROM {{table}}
WHERE "date" >= date_format(current_timestamp - INTERVAL '30' DAY, '%Y/%m/%d')
  AND eventsource = 's3.amazonaws.com' AND eventname = 'GetObject' AND errorcode IS NULL
  AND json_extract_scalar(requestparameters, '$.bucketName')
      = concat('{bucket_name_stem}', recipientaccountid, '-', awsregion)
  AND starts_with(json_extract_scalar(requestparameters, '$.key'), '{key_prefix}')
GROUP BY 1, 2, 3
ORDER BY reads DESC, principal, object_key
""")


DENIED_CALLS = SavedQuery(name="denied-api-calls", description="API calls refused for lack of permission, last 30 days",
                          template="""
SELECT useridentity.arn AS principal, eventsource, eventname, errorcode,
       count(*) AS calls, max(eventtime) AS last_call
FROM {table}
WHERE "date" >= date_format(current_timestamp - INTERVAL '30' DAY, '%Y/%m/%d')
  AND (errorcode LIKE '%AccessDenied%' OR errorcode LIKE '%UnauthorizedOperation%'
       OR errorcode = 'Forbidden')
GROUP BY 1, 2, 3, 4
ORDER BY calls DESC, principal, eventname
""")

POLICY_CHANGES = SavedQuery(name="key-and-bucket-policy-changes",
                            description="Who changed (or tried to change) a KMS key policy or an S3 bucket policy, "
                                        "last 90 days", template="""
SELECT eventtime, useridentity.arn AS principal, eventsource, eventname, awsregion,
       coalesce(json_extract_scalar(requestparameters, '$.keyId'),
                json_extract_scalar(requestparameters, '$.bucketName')) AS target,
       errorcode
FROM {table}
WHERE "date" >= date_format(current_timestamp - INTERVAL '90' DAY, '%Y/%m/%d')
  AND ((eventsource = 'kms.amazonaws.com' AND eventname = 'PutKeyPolicy')
       OR (eventsource = 's3.amazonaws.com' AND eventname IN ('PutBucketPolicy', 'DeleteBucketPolicy')))
ORDER BY eventtime DESC
""")
