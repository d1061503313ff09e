"""Local Spark for the Glue job's tests (PySpark 4, which needs a Java 17+ runtime)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # Imported here, in the importing thread, because SparkContext imports it from the thread that
    # starts Spark, where a warning would land in whichever test runs then: its optional-dependency
    # probe warns about pandas 3, which the job does not use.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
    import pyspark.testing.utils  # noqa: F401

MIN_JAVA = 17
JAVA_HINT = ("PySpark 4 (the Glue job's tests) needs a Java 17+ runtime: run scripts/bootstrap.sh as root, "
             "which installs it, or `sudo apt-get install -y default-jre-headless`, or set JAVA_HOME to a JDK 17+.")


def java_major_version() -> int:
    """The major version of the java PySpark will launch (JAVA_HOME first, then PATH)."""
    java = str(Path(os.environ["JAVA_HOME"], "bin", "java")) if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not Path(java).exists():
        raise RuntimeError(f"no java runtime found. {JAVA_HINT}")
    banner = subprocess.run([java, "-version"], capture_output=True, text=True, check=False).stderr
    found = re.search(r'version "(\d+)(?:\.(\d+))?', banner)
    if not found:
        raise RuntimeError(f"cannot read the version of {java} from {banner!r}. {JAVA_HINT}")
    major, minor = int(found[1]), int(found[2] or 0)
    return minor if major == 1 else major  # "1.8.0" is Java 8


def start_session():
    """One small local session: one core, no UI, one shuffle partition (the test data is tiny),
    warmed up so that the tests' first job does not pay the JVM's start-up compilation."""
    version = java_major_version()
    if version < MIN_JAVA:
        raise RuntimeError(f"java {version} found, {MIN_JAVA}+ needed. {JAVA_HINT}")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("glue-job-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # A short-lived JVM: the C1 compiler only and a serial GC halve its CPU time (~18 s -> ~9 s
        # here, start to first job), which the synth fixtures running at the same time need.
        .config("spark.driver.extraJavaOptions", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", tempfile.mkdtemp(prefix="spark-warehouse-"))
        # Not UTC on purpose: the job must set the time zone its partitions depend on itself.
        .config("spark.sql.session.timeZone", "Pacific/Honolulu")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    warm_up(spark)
    return spark


def warm_up(spark) -> None:
    """The first Parquet read, window and partitioned write of a JVM take ~4 s of class loading and
    JIT compilation, ~0.5 s after: pay that here, while the session starts in the background."""
    with tempfile.TemporaryDirectory(prefix="spark-warm-up-") as folder:
        (spark.range(4).selectExpr("id", "CAST(id % 2 AS STRING) AS part",
                                   "row_number() OVER (PARTITION BY id % 2 ORDER BY id) AS n")
         .write.partitionBy("part").option("compression", "snappy").parquet(f"{folder}/table"))
        spark.read.option("recursiveFileLookup", "true").parquet(f"{folder}/table").count()
