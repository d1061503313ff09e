"""The catalog stack, property by property, for both profiles and the overridden settings."""

from __future__ import annotations

import json
import re

from aws_cdk.assertions import Capture, Match, Template

from stacks.app_factory import PROJECT_ROOT

STACK = "Catalog"

def template(synth) -> Template:
    """The catalog template for aws_cdk.assertions, built once per synth."""
    return synth.assertions(STACK)


def of_type(synth, type_: str) -> dict[str, dict]:
    return synth.resources(STACK, type_)


def only(synth, type_: str) -> tuple[str, dict]:
    return synth.only(STACK, type_)


def catalog_settings(synth):
    return synth.built.settings.catalog


def prefix_of(synth) -> str:
    return synth.built.settings.name_prefix


def catalog_key_id(synth) -> str:
    return only(synth, "AWS::KMS::Key")[0]


def from_data_lake(synth, reference: dict) -> dict:
    """The DataLake stack's value that a Fn::GetStackOutput in this stack reads."""
    read = reference["Fn::GetStackOutput"]
    assert read["StackName"] == synth.built.stacks["DataLake"].stack_name
    return synth.templates["DataLake"]["Outputs"][read["OutputName"]]["Value"]


def lake_key_arn(synth) -> dict:
    return {"Fn::GetAtt": [synth.only("DataLake", "AWS::KMS::Key")[0], "Arn"]}


def lake_bucket(synth, reference: dict) -> tuple[str, str]:
    """(zone, "Ref" or attribute) of the DataLake bucket a Fn::GetStackOutput in this stack reads."""
    value = from_data_lake(synth, reference)
    bucket_id, attribute = (value["Ref"], "Ref") if "Ref" in value else value["Fn::GetAtt"]
    name_start = synth.templates["DataLake"]["Resources"][bucket_id]["Properties"]["BucketName"]["Fn::Join"][1][0]
    zone = name_start.removeprefix(f"{prefix_of(synth)}-").removesuffix("-")
    return zone, attribute


# ---------------------------------------------------------------- security configuration


def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_kms(synth):
    _, configuration = only(synth, "AWS::Glue::SecurityConfiguration")
    encryption = configuration["Properties"]["EncryptionConfiguration"]
    key = {"Fn::GetAtt": [catalog_key_id(synth), "Arn"]}
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key}
    (s3_encryption,) = encryption["S3Encryptions"]
    assert s3_encryption["S3EncryptionMode"] == "SSE-KMS"
    assert from_data_lake(synth, s3_encryption["KmsKeyArn"]) == lake_key_arn(synth)


def test_catalog_key_rotates_and_admits_cloudwatch_logs(synth):
    _, key = only(synth, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    sids = {s.get("Sid") for s in key["Properties"]["KeyPolicy"]["Statement"]}
    assert "AllowCloudWatchLogsOfThisAccount" in sids


def test_data_catalog_encryption_is_an_explicit_account_wide_option(sandbox, prod, custom):
    assert of_type(sandbox, "AWS::Glue::DataCatalogEncryptionSettings") == {}
    assert of_type(custom, "AWS::Glue::DataCatalogEncryptionSettings") == {}
    _, settings = only(prod, "AWS::Glue::DataCatalogEncryptionSettings")
    encryption = settings["Properties"]["DataCatalogEncryptionSettings"]
    key = {"Fn::GetAtt": [catalog_key_id(prod), "Arn"]}
    assert encryption["EncryptionAtRest"] == {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": key}
    assert encryption["ConnectionPasswordEncryption"] == {"ReturnConnectionPasswordEncrypted": True,
                                                          "KmsKeyId": key}
    statements = {s.get("Sid"): s for s in only(prod, "AWS::KMS::Key")[1]["Properties"]["KeyPolicy"]["Statement"]}
    glue_use = statements["AllowDataCatalogUseThroughGlueInThisAccount"]
    assert glue_use["Condition"]["StringEquals"]["kms:CallerAccount"] == {"Ref": "AWS::AccountId"}
    assert glue_use["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Join"][1][0] == "glue."


def test_crawlers_and_the_job_reference_the_security_configuration_so_it_is_created_first(synth):
    configuration_id, configuration = only(synth, "AWS::Glue::SecurityConfiguration")
    assert configuration["Properties"]["Name"] == f"{prefix_of(synth)}-glue"  # what the Ref resolves to
    template(synth).all_resources_properties(
        "AWS::Glue::Crawler", Match.object_like({"CrawlerSecurityConfiguration": {"Ref": configuration_id}}))
    template(synth).has_resource_properties("AWS::Glue::Job", {"SecurityConfiguration": {"Ref": configuration_id}})


# ---------------------------------------------------------------- curated table


def test_curated_table_is_explicit_with_projection_from_the_shared_schema(synth):
    (table,) = of_type(synth, "AWS::Glue::Table").values()
    table_input = table["Properties"]["TableInput"]
    assert table["Properties"]["DatabaseName"] == f"{prefix_of(synth).replace('-', '_')}_curated"
    assert table_input["Name"] == "sensor_readings"
    assert table_input["Parameters"]["projection.enabled"] == "true"
    streaming_table = next(iter(synth.resources("Streaming", "AWS::Glue::Table").values()))
    assert table_input["StorageDescriptor"]["Columns"] == \
        streaming_table["Properties"]["TableInput"]["StorageDescriptor"]["Columns"]


# ---------------------------------------------------------------- crawlers


def crawlers(synth) -> dict[str, dict]:
    return {c["Properties"]["Name"]: c["Properties"] for c in of_type(synth, "AWS::Glue::Crawler").values()}


def test_one_crawler_per_configured_zone(sandbox, prod, custom):
    assert set(crawlers(sandbox)) == {"mlspec-sbx-curated"}
    assert set(crawlers(prod)) == {"mlspec-prod-curated"}
    assert set(crawlers(custom)) == {"acme-ml-raw", "acme-ml-curated"}


def test_crawler_recrawls_new_folders_only_and_never_rewrites_tables(synth):
    for name, crawler in crawlers(synth).items():
        assert crawler["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}, name
        assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}, name
        assert json.loads(crawler["Configuration"])["CrawlerOutput"]["Partitions"] == {
            "AddOrUpdateBehavior": "InheritFromTable"}


def test_crawler_schedule_has_a_real_off_switch(sandbox, prod, custom):
    assert all("Schedule" not in c for c in crawlers(sandbox).values())  # crawler_schedule_enabled: false
    assert [c["Schedule"] for c in crawlers(prod).values()] == [{"ScheduleExpression": "cron(0 3 * * ? *)"}]
    assert {c["Schedule"]["ScheduleExpression"] for c in crawlers(custom).values()} == {"cron(15 4 ? * MON-FRI *)"}


RAW_EXCLUSIONS = ["data-capture/**", "errors/**", "sensor_readings/**", "source-backup/**"]
CURATED_EXCLUSIONS = ["checkpoints/**", "models/**", "monitoring/**", "sensor_readings/**", "training/**",
                      "sensor_readings_$folder$"]


def exclusions(synth) -> dict[str, list[str]]:
    return {name: crawler["Targets"]["S3Targets"][0]["Exclusions"] for name, crawler in crawlers(synth).items()}


def test_crawlers_skip_explicit_tables_the_stream_output_and_sagemaker_folders(sandbox, prod, custom):
    assert exclusions(sandbox) == {"mlspec-sbx-curated": CURATED_EXCLUSIONS}
    assert exclusions(prod) == {"mlspec-prod-curated": CURATED_EXCLUSIONS}
    assert exclusions(custom) == {"acme-ml-raw": RAW_EXCLUSIONS, "acme-ml-curated": CURATED_EXCLUSIONS}
    assert crawlers(custom)["acme-ml-raw"]["DatabaseName"] == "acme_ml_raw"


def excluded(key: str, patterns: list[str]) -> bool:
    """Glue's exclude globs: `**` crosses folders, `*` does not."""
    return any(re.fullmatch(re.escape(p).replace(r"\*\*", ".*").replace(r"\*", "[^/]*"), key) for p in patterns)


def test_crawler_exclusions_cover_what_others_write_and_leave_user_datasets(custom):
    raw, curated = exclusions(custom)["acme-ml-raw"], exclusions(custom)["acme-ml-curated"]
    for key in ("sensor_readings/year=2026/month=11/day=21/acme-ml-sensor-readings-1-2026-11-21-10-15-00-x",
                "errors/sensor_readings/processing-failed/year=2026/month=11/day=21/x",
                "source-backup/sensor_readings/year=2026/month=11/day=21/x.gz",
                "data-capture/acme-ml-endpoint/champion/2026/11/21/10/x.jsonl"):
        assert excluded(key, raw), key
    for key in ("sensor_readings/year=2026/month=11/day=21/part-0.snappy.parquet", "sensor_readings_$folder$",
                "training/sensor_readings/train/part-0.csv", "models/job-1/output/model.tar.gz",
                "checkpoints/job-1/xgboost-checkpoint.10"):
        assert excluded(key, curated), key
    for key in ("weather/year=2026/month=11/day=21/w.parquet", "trainingsets/s.csv"):
        assert not excluded(key, raw) and not excluded(key, curated), key


# ---------------------------------------------------------------- ETL job


def test_etl_job_uses_bookmarks_the_security_configuration_and_the_settings(synth):
    _, job = only(synth, "AWS::Glue::Job")
    props, settings = job["Properties"], catalog_settings(synth)
    assert props["GlueVersion"] == "5.0" and props["Command"]["Name"] == "glueetl"
    assert props["Command"]["ScriptLocation"]["Fn::Sub"].endswith(".py")
    assert props["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    assert (props["WorkerType"], props["NumberOfWorkers"], props["Timeout"]) == (
        settings.etl_worker_type, settings.etl_workers, settings.etl_timeout_minutes)
    assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1}


def test_etl_job_reads_the_raw_dataset_by_path_not_through_the_catalog(synth):
    s3_path = {"Fn::Join": ["", ["s3://", Match.any_value(), "/sensor_readings/"]]}
    template(synth).has_resource_properties("AWS::Glue::Job", {"DefaultArguments": Match.object_like({
        "--raw_path": s3_path, "--curated_path": s3_path,
        "--raw_database": Match.absent(), "--raw_table": Match.absent(),
    })})
    arguments = only(synth, "AWS::Glue::Job")[1]["Properties"]["DefaultArguments"]
    assert lake_bucket(synth, arguments["--raw_path"]["Fn::Join"][1][1]) == ("raw", "Ref")
    assert lake_bucket(synth, arguments["--curated_path"]["Fn::Join"][1][1]) == ("curated", "Ref")


def test_etl_schedule_exists_only_when_enabled(sandbox, prod):
    assert of_type(sandbox, "AWS::Glue::Trigger") == {}
    _, trigger = only(prod, "AWS::Glue::Trigger")
    assert trigger["Properties"]["Schedule"] == "cron(0 2 * * ? *)"
    assert trigger["Properties"]["Actions"] == [{"JobName": "mlspec-prod-raw-to-curated"}]


def test_etl_script_asset_is_the_repository_script(sandbox):
    _, job = only(sandbox, "AWS::Glue::Job")
    asset_name = job["Properties"]["Command"]["ScriptLocation"]["Fn::Sub"].rsplit("/", 1)[1]
    shipped = (sandbox.assembly_dir / f"asset.{asset_name.removesuffix('.py')}.py")
    assert shipped.read_text() == (PROJECT_ROOT / "etl" / "raw_to_curated.py").read_text()


# ---------------------------------------------------------------- roles


def policy_statements(synth, type_: str, name: str) -> dict[str, dict]:
    """Statements (by Sid) of the managed policy attached to the role of the `type_` resource named `name`."""
    (resource,) = [r for r in of_type(synth, type_).values() if r["Properties"]["Name"] == name]
    role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = template(synth).find_resources("AWS::IAM::ManagedPolicy", {
        "Properties": {"Roles": [{"Ref": role_id}]}}).values()
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_no_inline_policies_and_glue_roles_trust_glue(synth):
    assert of_type(synth, "AWS::IAM::Policy") == {}
    principals = [role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
                  for role in of_type(synth, "AWS::IAM::Role").values()]
    # With lake_formation.enabled, one more: the role Lake Formation registers the zones with.
    lake_formation = [{"Service": "lakeformation.amazonaws.com"}] if synth.built.settings.lake_formation.enabled else []
    assert sorted(map(json.dumps, principals)) == sorted(
        map(json.dumps, [p for p in principals if p == {"Service": "glue.amazonaws.com"}] + lake_formation))


def object_arn(synth, zone: str, key_pattern: str) -> dict:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":s3:::{prefix_of(synth)}-{zone}-",
                              {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}, f"/{key_pattern}"]]}


def test_job_lists_the_zones_reads_the_raw_dataset_and_writes_only_the_curated_dataset(synth):
    statements = policy_statements(synth, "AWS::Glue::Job", f"{prefix_of(synth)}-raw-to-curated")
    assert statements["ListTheZones"]["Action"] == "s3:ListBucket"
    assert sorted(lake_bucket(synth, r) for r in statements["ListTheZones"]["Resource"]) == [
        ("curated", "Arn"), ("raw", "Arn")]
    assert statements["ReadRaw"]["Action"] == "s3:GetObject"
    assert statements["ReadRaw"]["Resource"] == object_arn(synth, "raw", "sensor_readings/*")
    assert statements["WriteCurated"]["Action"] == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert statements["WriteCurated"]["Resource"] == object_arn(synth, "curated", "sensor_readings*")
    assert statements["PublishJobMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}


def test_job_has_no_catalog_grants_it_does_not_use(synth):
    """It reads and writes by path; both tables get partitions from projection."""
    statements = policy_statements(synth, "AWS::Glue::Job", f"{prefix_of(synth)}-raw-to-curated")
    actions = [a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert [a for a in actions if a.startswith("glue:")] == ["glue:GetSecurityConfiguration"]


def test_crawler_catalogs_only_its_own_database(synth):
    statements = policy_statements(synth, "AWS::Glue::Crawler", f"{prefix_of(synth)}-curated")
    resources = [r["Fn::Join"][1][-1] for r in statements["CatalogTheZone"]["Resource"]]
    database = f"{prefix_of(synth).replace('-', '_')}_curated"
    assert resources == [":catalog", f":database/{database}", f":table/{database}/*"]
    assert "glue:DeleteTable" not in statements["CatalogTheZone"]["Action"]


# ---------------------------------------------------------------- Athena


def test_workgroup_enforces_encrypted_capped_results_in_the_results_zone(synth):
    key, results_bucket = Capture(), Capture()
    template(synth).has_resource_properties("AWS::Athena::WorkGroup", {"WorkGroupConfiguration": {
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
        "BytesScannedCutoffPerQuery": catalog_settings(synth).athena_bytes_scanned_cutoff_mb * 10**6,
        "ResultConfiguration": {
            "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": key},
            "OutputLocation": {"Fn::Join": ["", ["s3://", results_bucket, "/athena/"]]},
        },
    }})
    assert from_data_lake(synth, key.as_object()) == lake_key_arn(synth)
    assert lake_bucket(synth, results_bucket.as_object()) == ("results", "Ref")


def test_sandbox_workgroup_can_be_deleted_with_its_queries_and_prod_cannot(sandbox, prod):
    assert only(sandbox, "AWS::Athena::WorkGroup")[1]["Properties"]["RecursiveDeleteOption"] is True
    assert only(prod, "AWS::Athena::WorkGroup")[1]["Properties"]["RecursiveDeleteOption"] is False


def test_saved_queries_target_the_streaming_table_in_the_workgroup(synth):
    workgroup_id, _ = only(synth, "AWS::Athena::WorkGroup")
    database = f"{prefix_of(synth).replace('-', '_')}_raw"
    named = {q["Properties"]["Name"]: q["Properties"] for q in of_type(synth, "AWS::Athena::NamedQuery").values()}
    assert sorted(named) == ["data-quality", "latest-partition", "readings-per-day"]
    for name, props in named.items():
        assert props["WorkGroup"] == {"Ref": workgroup_id}, name
        assert props["Database"] == database, name
        # Every table it reads is the streaming table, fully qualified; no placeholder is left.
        assert set(re.findall(r"\bFROM ([\w.]+)", props["QueryString"])) == {f"{database}.sensor_readings"}, name
        assert "{" not in props["QueryString"] and props["QueryString"].endswith("\n"), name
    assert named["readings-per-day"]["QueryString"] == (
        "SELECT year, month, day, count(*) AS readings, count(DISTINCT device_id) AS devices\n"
        f"FROM {database}.sensor_readings\n"
        "GROUP BY year, month, day\n"
        "ORDER BY year, month, day\n")


def test_outputs_refer_to_the_analyst_policy_workgroup_database_job_and_crawlers(synth):
    outputs = template(synth)
    (policy_id,) = outputs.find_resources("AWS::IAM::ManagedPolicy", {
        "Properties": {"ManagedPolicyName": f"{prefix_of(synth)}-analyst"}})
    outputs.has_output("AnalystPolicyArn", {"Value": {"Ref": policy_id}})
    outputs.has_output("WorkGroupName", {"Value": {"Ref": only(synth, "AWS::Athena::WorkGroup")[0]}})
    outputs.has_output("CuratedDatabaseName", {"Value": f"{prefix_of(synth).replace('-', '_')}_curated"})
    outputs.has_output("EtlJobName", {"Value": {"Ref": only(synth, "AWS::Glue::Job")[0]}})
    for zone in catalog_settings(synth).crawler_zones:
        (crawler_id,) = outputs.find_resources("AWS::Glue::Crawler", {
            "Properties": {"Name": f"{prefix_of(synth)}-{zone}"}})
        outputs.has_output(f"{zone.capitalize()}CrawlerName", {"Value": {"Ref": crawler_id}})
