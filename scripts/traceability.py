"""Study-guide traceability: statements of the study notes -> construct -> template property -> test.

Every entry quotes its statement verbatim from `docs/study-notes/<file>` and names a check that
must hold on a synthesized profile. `tests/test_traceability.py` verifies the quote, the
construct, the check and the test; the README table is generated from this list.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

NOTES = Path(__file__).resolve().parent.parent / "docs" / "study-notes"
PRESENT = object()  # the property only has to exist


@dataclasses.dataclass(frozen=True)
class Contains:
    """The property, rendered as JSON, contains this text (for definitions held as one string)."""

    text: str

    def __repr__(self) -> str:
        return f"contains {self.text!r}"


@dataclasses.dataclass(frozen=True)
class Trace:
    notes: str  # file in docs/study-notes
    statement: str  # verbatim (whitespace-normalized) from the notes
    construct: str  # module.Class that implements it
    check: tuple[str, str, str, str, Any]  # profile, stack, resource type, property path, expected value
    test: str  # tests/...py::test_name

    @property
    def property_text(self) -> str:
        profile, stack, type_, path, expected = self.check
        shown = "present" if expected is PRESENT else repr(expected)
        return f"{profile} {stack}: `{type_}` `{path}` = {shown}"


S000, S003, S004 = "000_9189b603e09bc9bf.txt", "003_a34f3d96b6317154.txt", "004_0a8284ca0a231664.txt"
S001, S002 = "001_3d29dc4bf2dd676e.txt", "002_2a62d2a8bdcccb0d.txt"

TRACES = (
    Trace(S000, "Forced encryption at upload (necessitates encryption headers)", "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::BucketPolicy", "PolicyDocument.Statement[*].Sid", "DenyUploadsNotUsingSseKms"),
          "tests/test_data_lake.py::test_zone_bucket_denies_uploads_asking_for_other_encryption"),
    Trace(S004, "SSE-KMS: Use AWS key Management Service to manage encryption keys", "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::Bucket",
           "BucketEncryption.ServerSideEncryptionConfiguration[*].ServerSideEncryptionByDefault.SSEAlgorithm", "aws:kms"),
          "tests/test_data_lake.py::test_zone_bucket_is_sse_kms_with_bucket_key_and_the_lake_key"),
    Trace(S000, "To force encryption, a bucket policy is in order", "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::BucketPolicy", "PolicyDocument.Statement[*].Condition.Bool.aws:SecureTransport",
           "false"), "tests/test_data_lake.py::test_every_bucket_denies_plain_http_and_tls_below_1_2"),
    Trace(S000, "Settings to block public access to bucket(s)/object(s) can be set at the account level",
          "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::Bucket", "PublicAccessBlockConfiguration.RestrictPublicBuckets", True),
          "tests/test_data_lake.py::test_every_bucket_blocks_public_access_disables_acls_and_is_versioned"),
    Trace(S000, "S3 Access Logs can be stored to another S3 bucket (not the same to prevent infinite looping)",
          "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::Bucket", "LoggingConfiguration.LogFilePrefix", "raw/"),
          "tests/test_data_lake.py::test_zone_bucket_logs_to_the_access_log_bucket_under_its_zone"),
    Trace(S004, "General Purpose (GP) -> Infrequent Access (IA) -> Glacier", "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::Bucket", "LifecycleConfiguration.Rules[*].Transitions[*].StorageClass",
           "GLACIER_IR"), "tests/test_data_lake.py::test_zone_lifecycle_follows_the_settings"),
    Trace(S000, "Good for deleting log files, deleting old versions of files (if versioning enabled), or incomplete "
                "multi-part uploads", "patterns.data_lake.DataLakeStorage",
          ("sandbox", "DataLake", "AWS::S3::Bucket",
           "LifecycleConfiguration.Rules[*].AbortIncompleteMultipartUpload.DaysAfterInitiation", 1),
          "tests/test_data_lake.py::test_zone_lifecycle_follows_the_settings"),
    Trace(S000, "time/date (eg: s3://bucket/datasetname/year/month/day/....)", "patterns.parquet_delivery.ParquetDelivery",
          ("sandbox", "Streaming", "AWS::KinesisFirehose::DeliveryStream", "ExtendedS3DestinationConfiguration.Prefix",
           "sensor_readings/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/"),
          "tests/test_streaming.py::test_hive_partitions_and_error_prefix_split_by_error_type"),
    Trace(S000, "error/!{firehose:random-string}/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
          "patterns.parquet_delivery.ParquetDelivery",
          ("sandbox", "Streaming", "AWS::KinesisFirehose::DeliveryStream",
           "ExtendedS3DestinationConfiguration.ErrorOutputPrefix", PRESENT),
          "tests/test_streaming.py::test_hive_partitions_and_error_prefix_split_by_error_type"),
    Trace(S000, "Data Conversion from csv/json to Parquet/ORC using AWS Glue (only for S3)",
          "patterns.parquet_delivery.ParquetDelivery",
          ("sandbox", "Streaming", "AWS::KinesisFirehose::DeliveryStream",
           "ExtendedS3DestinationConfiguration.DataFormatConversionConfiguration.Enabled", True),
          "tests/test_streaming.py::test_json_is_converted_to_parquet_with_the_glue_table"),
    Trace(S000, "Can use λ to filter/transform data prior to output", "patterns.parquet_delivery.ParquetDelivery",
          ("sandbox", "Streaming", "AWS::KinesisFirehose::DeliveryStream",
           "ExtendedS3DestinationConfiguration.ProcessingConfiguration.Processors[*].Type", "Lambda"),
          "tests/test_streaming.py::test_records_pass_through_the_transform_in_1_mib_batches"),
    Trace(S000, "Sent to (S3 as a backup [of source records] or failed [transformations or delivery] case[s])",
          "patterns.parquet_delivery.ParquetDelivery",
          ("sandbox", "Streaming", "AWS::KinesisFirehose::DeliveryStream",
           "ExtendedS3DestinationConfiguration.S3BackupMode", "Enabled"),
          "tests/test_streaming.py::test_source_records_are_backed_up_compressed_and_encrypted"),
    Trace(S000, "TLS in flight or KMS at-rest encryption", "patterns.kinesis_stream.EncryptedStream",
          ("sandbox", "Streaming", "AWS::Kinesis::Stream", "StreamEncryption.EncryptionType", "KMS"),
          "tests/test_streaming.py::test_stream_is_encrypted_with_the_streaming_cmk"),
    Trace(S000, "Provisioned mode (if throughput exceeded exception => add shard[s] manually or programmatically)",
          "patterns.kinesis_stream.EncryptedStream",
          ("sandbox", "Streaming", "AWS::Kinesis::Stream", "StreamModeDetails.StreamMode", "PROVISIONED"),
          "tests/test_streaming.py::test_sandbox_uses_one_provisioned_shard_and_prod_on_demand"),
    Trace(S000, "On-demand capacity mode", "patterns.kinesis_stream.EncryptedStream",
          ("prod", "Streaming", "AWS::Kinesis::Stream", "StreamModeDetails.StreamMode", "ON_DEMAND"),
          "tests/test_streaming.py::test_sandbox_uses_one_provisioned_shard_and_prod_on_demand"),
    Trace(S000, "store between 24 hours and 365 days", "config.settings.StreamingSettings",
          ("sandbox", "Streaming", "AWS::Kinesis::Stream", "RetentionPeriodHours", 24),
          "tests/test_settings.py::test_bad_setting_is_rejected_with_setting_value_and_what_is_allowed"),
    Trace(S000, "Glue Crawlers go through your data to infer schemas and partitions", "patterns.zone_crawler.ZoneCrawler",
          ("sandbox", "Catalog", "AWS::Glue::Crawler", "RecrawlPolicy.RecrawlBehavior", "CRAWL_NEW_FOLDERS_ONLY"),
          "tests/test_catalog.py::test_crawler_recrawls_new_folders_only_and_never_rewrites_tables"),
    Trace(S000, "Glue Job bookmarks prevent reprocessing old data", "patterns.curation_job.CurationJob",
          ("sandbox", "Catalog", "AWS::Glue::Job", "DefaultArguments.--job-bookmark-option", "job-bookmark-enable"),
          "tests/test_catalog.py::test_etl_job_uses_bookmarks_the_security_configuration_and_the_settings"),
    Trace(S000, "Data Catalog is there to make the data available to Athena or Redshift Spectrum",
          "patterns.dataset_table.DatasetTable",
          ("sandbox", "Streaming", "AWS::Glue::Table", "TableInput.Parameters.projection.enabled", "true"),
          "tests/test_local_queries.py::test_readings_per_day"),
    Trace(S000, "can harness Glue Data Catalog metadata for queries", "patterns.athena.QueryWorkgroup",
          ("sandbox", "Catalog", "AWS::Athena::NamedQuery", "Database", "mlspec_sbx_raw"),
          "tests/test_catalog.py::test_saved_queries_target_the_streaming_table_in_the_workgroup"),
    Trace(S000, "Harnesses disparate key [path] to speed up queries (eg: Athena)", "patterns.dataset_table.DatasetTable",
          ("sandbox", "Streaming", "AWS::Glue::Table", "TableInput.PartitionKeys[*].Name", "day"),
          "tests/test_streaming.py::test_glue_table_uses_partition_projection_over_the_firehose_layout"),
    Trace(S003, "If we are in a private VPC, we need a S3 VPC endpoint to access S3",
          "patterns.isolated_network.IsolatedNetwork",
          ("sandbox", "MlNetwork", "AWS::EC2::VPCEndpoint", "VpcEndpointType", "Gateway"),
          "tests/test_ml_network.py::test_s3_gateway_endpoint_policy_names_only_the_lake_buckets"),
    Trace(S000, "Interface Endpoints: provisions an ENI (private ip) as an entry point (must attach a SG)",
          "patterns.isolated_network.IsolatedNetwork",
          ("custom", "MlNetwork", "AWS::EC2::VPCEndpoint", "PrivateDnsEnabled", True),
          "tests/test_ml_network.py::test_interface_endpoints_use_private_dns_and_only_the_endpoint_security_group"),
    Trace(S003, "There's \"spot instances\" for training called \"managed spot training\"",
          "patterns.training_pipeline.TrainingPipeline",
          ("sandbox", "SageMaker", "AWS::StepFunctions::StateMachine", "DefinitionString",
           Contains('\\"EnableManagedSpotTraining\\":true')),
          "tests/test_sagemaker.py::test_spot_training_uses_checkpoints_only_when_enabled"),
    Trace(S003, "Create an Endpoint configuration", "patterns.realtime_endpoint.RealtimeEndpoint",
          ("custom", "SageMaker", "AWS::SageMaker::EndpointConfig", "DataCaptureConfig.EnableCapture", True),
          "tests/test_sagemaker.py::test_endpoint_config_splits_traffic_and_captures_encrypted_data"),
    Trace(S003, "Production variants how to do a/b (% traffic to A, % to B) testing of models using production data",
          "patterns.realtime_endpoint.RealtimeEndpoint",
          ("custom", "SageMaker", "AWS::SageMaker::EndpointConfig", "ProductionVariants[*].InitialVariantWeight", 0.1),
          "tests/test_sagemaker.py::test_endpoint_config_splits_traffic_and_captures_encrypted_data"),
    Trace(S003, "Give notebook root access (server access)? Set this during creation default is true.",
          "patterns.private_notebook.PrivateNotebook",
          ("custom", "SageMaker", "AWS::SageMaker::NotebookInstance", "RootAccess", "Disabled"),
          "tests/test_sagemaker.py::test_notebook_is_private_rootless_encrypted_and_imdsv2"),
    Trace(S003, "The default is a public VPC i.e. access to internet", "patterns.private_notebook.PrivateNotebook",
          ("custom", "SageMaker", "AWS::SageMaker::NotebookInstance", "DirectInternetAccess", "Disabled"),
          "tests/test_ml_network.py::test_there_is_no_path_to_the_internet"),
    # audit trail
    Trace(S001, "AWS CloudTrail captures API calls and related events made by or on behalf of your AWS account and "
                "delivers the log files to an Amazon S3 bucket that you specify.", "patterns.audit_trail.AuditTrail",
          ("sandbox", "Audit", "AWS::CloudTrail::Trail", "IsLogging", True),
          "tests/test_audit.py::test_trail_validates_log_files_encrypts_with_its_key_and_records_management_events"),
    Trace(S000, "Trail can be applied to all regions (default) or a single region", "patterns.audit_trail.AuditTrail",
          ("prod", "Audit", "AWS::CloudTrail::Trail", "IsMultiRegionTrail", True),
          "tests/test_audit.py::test_trail_is_multi_region_in_prod_and_single_region_in_the_sandbox"),
    Trace(S000, "Management events (default on)", "patterns.audit_trail.AuditTrail",
          ("sandbox", "Audit", "AWS::CloudTrail::Trail", "AdvancedEventSelectors[*].FieldSelectors[*].Equals[*]",
           "Management"),
          "tests/test_audit.py::test_trail_validates_log_files_encrypts_with_its_key_and_records_management_events"),
    Trace(S000, "Data events (default off due to volume, though can be turned on to trigger/invoke)",
          "patterns.audit_trail.AuditTrail",
          ("prod", "Audit", "AWS::CloudTrail::Trail", "AdvancedEventSelectors[*].FieldSelectors[*].Equals[*]",
           "AWS::S3::Object"),
          "tests/test_audit.py::test_s3_data_events_cover_the_raw_and_curated_zones"),
    Trace(S000, "Cloudtrail Events are stored for 90 days, though can be sent to S3 and analyzed by Athena",
          "patterns.audit_trail.TrailTable",
          ("sandbox", "Audit", "AWS::Glue::Table", "TableInput.StorageDescriptor.SerdeInfo.SerializationLibrary",
           "com.amazon.emr.hive.serde.CloudTrailSerde"),
          "tests/test_audit.py::test_who_read_the_training_data"),
    Trace(S000, "query web logs (CloudTrail, CloudFront, VPC, ELB)", "patterns.audit_trail.AuditQueries",
          ("sandbox", "Audit", "AWS::Athena::NamedQuery", "Name", "key-and-bucket-policy-changes"),
          "tests/test_audit.py::test_who_changed_a_key_policy_or_a_bucket_policy"),
    Trace(S000, "Api calls can be sent to AWS CloudTrail", "patterns.audit_trail.AuditQueries",
          ("sandbox", "Audit", "AWS::Athena::NamedQuery", "Name", "denied-api-calls"),
          "tests/test_audit.py::test_which_api_calls_were_denied"),
    # Lake Formation (lake_formation.enabled; on in the custom synth).
    Trace(S001, "AWS Lake Formation is a service that makes it easy to set up a secure data lake in days.",
          "patterns.lake_formation.LakeGovernance",
          ("custom", "Catalog", "AWS::LakeFormation::Resource", "HybridAccessEnabled", True),
          "tests/test_lake_formation.py::test_the_dataset_zones_are_registered_in_hybrid_mode_with_a_role_that_can_use_the_lake_key"),

    Trace(S003, "Batch inference Create a \"batch transform job\" likely with data from S3. Push that S3 into the "
                "batch job, and then the output goes back into S3", "patterns.batch_transform.BatchTransform",
          ("sandbox", "SageMaker", "AWS::StepFunctions::StateMachine", "DefinitionString",
           Contains(":states:::sagemaker:createTransformJob.sync")),
          "tests/test_batch_transform.py::test_without_a_package_it_uses_the_latest_approved_of_the_group"),
    Trace(S000, "Monitor performance of the model", "patterns.model_monitor.ModelMonitor",
          ("prod", "SageMaker", "AWS::StepFunctions::StateMachine", "DefinitionString",
           Contains("states:::aws-sdk:sagemaker:createMonitoringSchedule")),
          "tests/test_model_monitor.py::test_first_deploy_runs_the_baseline_then_creates_the_schedule"),
    Trace(S000, "Detect and mitigate drop in performance", "patterns.model_monitor.ModelMonitor",
          ("prod", "SageMaker", "AWS::CloudWatch::Alarm", "Metrics[*].MetricStat.Metric.Namespace",
           "aws/sagemaker/Endpoints/data-metrics"),
          "tests/test_model_monitor.py::test_the_drift_alarm_watches_every_feature_of_this_schedule_and_keeps_its_state_without_data"),
    Trace(S003, "API Gateway à Lambda à SageMaker Endpoint is another", "patterns.inference_api.InferenceApi",
          ("sandbox", "SageMaker", "AWS::ApiGateway::Method", "AuthorizationType", "AWS_IAM"),
          "tests/test_inference_api.py::test_every_method_requires_iam_sigv4"),
    Trace(S003, "We can call a model in real time to get the result (inference) by InvokeEndpoint from EC2, Lambda",
          "patterns.inference_api.InferenceApi",
          ("sandbox", "SageMaker", "AWS::Lambda::Function", "Environment.Variables.ENDPOINT_NAME",
           "mlspec-sbx-pipeline-endpoint"),
          "tests/test_inference_api.py::test_the_function_runs_in_the_isolated_subnets_with_https_only_to_the_endpoints"),
    Trace(S003, "Real-time inference has a SageMaker Endpoint (internal not public)", "patterns.inference_api.InferenceApi",
          ("prod", "SageMaker", "AWS::ApiGateway::RestApi", "EndpointConfiguration.Types[*]", "PRIVATE"),
          "tests/test_inference_api.py::test_prod_is_a_private_api_that_denies_calls_not_through_its_vpc_endpoint"),
    Trace(S003, "Choose an algorithm -> Set ranges of hyperparameters -> Choose metric to measure (e.g. maximize area "
          "under curve)", "patterns.training_pipeline.TrainingPipeline",
          ("prod", "SageMaker", "AWS::StepFunctions::StateMachine", "DefinitionString",
           Contains('\\"HyperParameterTuningJobObjective\\":{\\"Type\\":\\"Minimize\\"')),
          "tests/test_sagemaker.py::test_tuning_searches_the_configured_ranges_toward_the_metrics_own_direction"),
    Trace(S003, "Sagemaker will run a whole bunch of training models in parallel.",
          "patterns.training_pipeline.TrainingPipeline",
          ("prod", "SageMaker", "AWS::StepFunctions::StateMachine", "DefinitionString",
           Contains('\\"MaxParallelTrainingJobs\\":2')),
          "tests/test_sagemaker.py::test_tuning_searches_the_configured_ranges_toward_the_metrics_own_direction"),
    Trace(S003, "Deploy and operationalize machine learning solutions.", "patterns.model_deploy.ModelDeploy",
          ("sandbox", "SageMaker", "AWS::Events::Rule", "EventPattern.detail.ModelApprovalStatus[*]", "Approved"),
          "tests/test_sagemaker.py::test_the_rule_matches_approvals_of_this_group_only"),
    # model registry: each run registers a package version in <prefix>-models
    Trace(S002, "ML model versioning", "patterns.model_registry.ModelPackageGroup",
          ("sandbox", "SageMaker", "AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName", "mlspec-sbx-models"),
          "tests/test_sagemaker.py::test_a_run_trains_or_tunes_registers_pending_and_approves_only_when_automatic"),
    # ML rule pack (issue 12): SageMaker jobs in Step Functions must be in the VPC and isolated.
    Trace(S003, "The default is a public VPC i.e. access to internet", "patterns.ml_rule_pack.MLSpecialtyChecks",
          ("sandbox", "SageMaker", "AWS::StepFunctions::StateMachine", "DefinitionString",
           Contains('\\"EnableNetworkIsolation\\":true')),
          "tests/test_ml_rule_pack.py::test_rule_flags_its_failing_fixture_and_not_its_passing_one"),
)


def values_at(document: Any, path: str) -> list[Any]:
    """Every value at a dotted `path`; `[*]` fans out over a list. Keys may contain ':' and '-'."""
    current = [document]
    for part in _split(path):
        following = []
        for value in current:
            if part == "[*]":
                following += value if isinstance(value, list) else []
            elif isinstance(value, dict) and part in value:
                following.append(value[part])
        current = following
    return current


def _split(path: str) -> list[str]:
    parts = []
    for chunk in path.split("."):
        if chunk.endswith("[*]"):
            parts += [chunk[:-3], "[*]"]
        else:
            parts.append(chunk)
    # "projection.enabled" is one key of TableInput.Parameters: rejoin known dotted keys.
    joined = []
    for part in parts:
        if joined and joined[-1] == "projection":
            joined[-1] = f"projection.{part}"
        else:
            joined.append(part)
    return joined


def holds(trace: Trace, templates_by_profile: dict[str, dict[str, dict]]) -> bool:
    profile, stack, type_, path, expected = trace.check
    for resource in templates_by_profile[profile][stack]["Resources"].values():
        if resource["Type"] != type_:
            continue
        found = values_at(resource.get("Properties", {}), path)
        if isinstance(expected, Contains) and any(expected.text in json.dumps(value) for value in found):
            return True
        if (expected is PRESENT and found) or expected in found:
            return True
    return False


def normalized(text: str) -> str:
    return " ".join(text.split())


def table() -> str:
    lines = ["| study notes | statement | construct | template property | test |", "|---|---|---|---|---|"]
    for trace in TRACES:
        statement = trace.statement.replace("|", "\\|")
        lines.append(f"| `{trace.notes}` | {statement} | `{trace.construct}` | {trace.property_text} | "
                     f"`{trace.test}` |")
    return "\n".join(lines) + "\n"
