"""The catalog stack, property by property, for both profiles and the overridden settings."""

from __future__ import annotations

import json


from patterns.glue_catalog import GLUE_VERSION
from patterns.saved_queries import SAVED_QUERIES

STACK = "Catalog"



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


# ---------------------------------------------------------------- security configuration


def test_security_configuration_encrypts_s3_logs_and_bookmarks_with_kms(synth):
    _, configuration = only(synth, "AWS::Glue::SecurityConfiguration")
    encryption = configuration["Properties"]["EncryptionConfiguration"]
    key = {"Fn::GetAtt": [catalog_key_id(synth), "Arn"]}
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": key}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": key}
    (s3_encryption,) = encryption["S3Encryptions"]
    assert s3_encryption["S3EncryptionMode"] == "SSE-KMS"
    assert s3_encryption["KmsKeyArn"]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputFnGetAttLakeKey")


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
        assert crawler["CrawlerSecurityConfiguration"] == f"{prefix_of(synth)}-glue", name
        assert json.loads(crawler["Configuration"])["CrawlerOutput"]["Partitions"] == {
            "AddOrUpdateBehavior": "InheritFromTable"}


def test_crawler_schedule_has_a_real_off_switch(sandbox, prod, custom):
    assert all("Schedule" not in c for c in crawlers(sandbox).values())  # crawler_schedule_enabled: false
    assert [c["Schedule"] for c in crawlers(prod).values()] == [{"ScheduleExpression": "cron(0 3 * * ? *)"}]
    assert {c["Schedule"]["ScheduleExpression"] for c in crawlers(custom).values()} == {"cron(15 4 ? * MON-FRI *)"}


def test_crawlers_skip_explicit_tables_and_stream_output(custom):
    by_name = crawlers(custom)
    assert by_name["acme-ml-raw"]["Targets"]["S3Targets"][0]["Exclusions"] == [
        "errors/**", "sensor_readings/**", "source-backup/**"]
    assert by_name["acme-ml-raw"]["DatabaseName"] == "acme_ml_raw"
    assert by_name["acme-ml-curated"]["Targets"]["S3Targets"][0]["Exclusions"] == [
        "sensor_readings/**", "sensor_readings_$folder$"]


# ---------------------------------------------------------------- ETL job


def test_etl_job_uses_bookmarks_the_security_configuration_and_the_settings(synth):
    _, job = only(synth, "AWS::Glue::Job")
    props, settings = job["Properties"], catalog_settings(synth)
    assert props["GlueVersion"] == GLUE_VERSION and props["Command"]["Name"] == "glueetl"
    assert props["Command"]["ScriptLocation"]["Fn::Sub"].endswith(".py")
    assert props["SecurityConfiguration"] == f"{prefix_of(synth)}-glue"
    assert props["DefaultArguments"]["--job-bookmark-option"] == "job-bookmark-enable"
    assert props["DefaultArguments"]["--raw_table"] == "sensor_readings"
    assert props["DefaultArguments"]["--curated_path"]["Fn::Join"][1][-1] == "/sensor_readings/"
    assert (props["WorkerType"], props["NumberOfWorkers"], props["Timeout"]) == (
        settings.etl_worker_type, settings.etl_workers, settings.etl_timeout_minutes)
    assert props["ExecutionProperty"] == {"MaxConcurrentRuns": 1}


def test_etl_schedule_exists_only_when_enabled(sandbox, prod):
    assert of_type(sandbox, "AWS::Glue::Trigger") == {}
    _, trigger = only(prod, "AWS::Glue::Trigger")
    assert trigger["Properties"]["Schedule"] == "cron(0 2 * * ? *)"
    assert trigger["Properties"]["Actions"] == [{"JobName": "mlspec-prod-raw-to-curated"}]


def test_etl_script_asset_is_the_repository_script(sandbox):
    _, job = only(sandbox, "AWS::Glue::Job")
    asset_name = job["Properties"]["Command"]["ScriptLocation"]["Fn::Sub"].rsplit("/", 1)[1]
    shipped = (sandbox.assembly_dir / f"asset.{asset_name.removesuffix('.py')}.py")
    from patterns.glue_catalog import ETL_SCRIPT

    assert shipped.read_text() == ETL_SCRIPT.read_text()


# ---------------------------------------------------------------- roles


def policy_statements(synth, role_fragment: str) -> dict[str, dict]:
    (statements,) = [p["Properties"]["PolicyDocument"]["Statement"]
                     for k, p in of_type(synth, "AWS::IAM::ManagedPolicy").items() if role_fragment in k]
    return {s["Sid"]: s for s in statements}


def test_no_inline_policies_and_glue_roles_trust_glue(synth):
    assert of_type(synth, "AWS::IAM::Policy") == {}
    for role in of_type(synth, "AWS::IAM::Role").values():
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
            "Service": "glue.amazonaws.com"}


def test_job_reads_raw_and_writes_only_the_curated_dataset(synth):
    statements = policy_statements(synth, "Curation")
    prefix = prefix_of(synth)
    assert statements["ReadRaw"]["Action"] == "s3:GetObject"
    assert statements["ReadRaw"]["Resource"]["Fn::Join"][1][2] == f":s3:::{prefix}-raw-"
    assert statements["ReadRaw"]["Resource"]["Fn::Join"][1][-1] == "/sensor_readings/*"
    assert statements["WriteCurated"]["Resource"]["Fn::Join"][1][2] == f":s3:::{prefix}-curated-"
    assert statements["WriteCurated"]["Resource"]["Fn::Join"][1][-1] == "/sensor_readings*"
    assert statements["PublishJobMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Glue"}}


def test_crawler_catalogs_only_its_own_database(synth):
    statements = policy_statements(synth, "CuratedCrawler")
    resources = [r["Fn::Join"][1][-1] for r in statements["CatalogTheZone"]["Resource"]]
    database = f"{prefix_of(synth).replace('-', '_')}_curated"
    assert resources == [":catalog", f":database/{database}", f":table/{database}/*"]
    assert "glue:DeleteTable" not in statements["CatalogTheZone"]["Action"]


# ---------------------------------------------------------------- Athena


def test_workgroup_enforces_encrypted_capped_results_in_the_results_zone(synth):
    _, workgroup = only(synth, "AWS::Athena::WorkGroup")
    configuration = workgroup["Properties"]["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["PublishCloudWatchMetricsEnabled"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == catalog_settings(synth).athena_bytes_scanned_cutoff_mb * 10**6
    results = configuration["ResultConfiguration"]
    assert results["EncryptionConfiguration"]["EncryptionOption"] == "SSE_KMS"
    assert results["EncryptionConfiguration"]["KmsKey"]["Fn::GetStackOutput"]["OutputName"].startswith(
        "PublishOutputFnGetAttLakeKey")
    location = results["OutputLocation"]["Fn::Join"][1]
    assert location[1]["Fn::GetStackOutput"]["OutputName"].startswith("PublishOutputRefLakeResults")
    assert location[2] == "/athena/"


def test_sandbox_workgroup_can_be_deleted_with_its_queries_and_prod_cannot(sandbox, prod):
    assert only(sandbox, "AWS::Athena::WorkGroup")[1]["Properties"]["RecursiveDeleteOption"] is True
    assert only(prod, "AWS::Athena::WorkGroup")[1]["Properties"]["RecursiveDeleteOption"] is False


def test_saved_queries_target_the_streaming_table_in_the_workgroup(synth):
    workgroup_id, _ = only(synth, "AWS::Athena::WorkGroup")
    database = f"{prefix_of(synth).replace('-', '_')}_raw"
    named = {q["Properties"]["Name"]: q["Properties"] for q in of_type(synth, "AWS::Athena::NamedQuery").values()}
    assert set(named) == {q.name for q in SAVED_QUERIES}
    for query in SAVED_QUERIES:
        props = named[query.name]
        assert props["WorkGroup"] == {"Ref": workgroup_id}
        assert props["Database"] == database
        assert props["QueryString"] == query.sql(database, "sensor_readings")


def test_outputs(synth):
    assert {"WorkGroupName", "CuratedDatabaseName", "EtlJobName", "CuratedCrawlerName"} <= set(
        synth.templates[STACK]["Outputs"])
