"""What AWS accepts: service limits, allowed values and naming rules the settings are checked against.

Plain data and predicates (no pydantic, no CDK), each with the service it comes from. The settings
schema (config/schema.py) turns them into messages; the CDK patterns take their props as plain
values and do not import this module.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

# ------------------------------------------------------------------ S3

ARCHIVE_STORAGE_CLASSES = ("GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")
# S3 rejects a transition to STANDARD_IA before day 30, and an object must spend 30 days in
# STANDARD_IA before a lifecycle rule may move it on.
MIN_INFREQUENT_ACCESS_DAY = 30
MIN_DAYS_IN_INFREQUENT_ACCESS = 30

BUCKET_NAME_MAX = 63
ACCOUNT_ID_LENGTH = 12
LONGEST_REGION_NAME = 16  # e.g. "ap-southeast-5" is 14; leave room for new regions
RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def bucket_name_problem(bucket: str) -> str | None:
    """What breaks S3's general-purpose bucket naming rules, or None."""
    if not 3 <= len(bucket) <= 63:
        return "a bucket name has 3..63 characters"
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", bucket):
        return "a bucket name uses lowercase letters, digits, dots and hyphens, and starts and ends with a letter or digit"
    if ".." in bucket or ".-" in bucket or "-." in bucket:
        return "a bucket name has no '..', '.-' or '-.'"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", bucket):
        return "a bucket name is not an IP address"
    if bucket.startswith(RESERVED_BUCKET_PREFIXES) or bucket.endswith(RESERVED_BUCKET_SUFFIXES):
        return (f"a bucket name does not start with {', '.join(RESERVED_BUCKET_PREFIXES)} or end with "
                f"{', '.join(RESERVED_BUCKET_SUFFIXES)}")
    return None


# ------------------------------------------------------------------ tags (CloudFormation)

TAG_KEY_MAX = 128
TAG_VALUE_MAX = 256
TAG_CHARACTERS = "letters, digits, spaces and _ . : / = + - @"


def tag_text_ok(text: str) -> bool:
    """CloudFormation's tag pattern: Unicode letters, digits, spaces and _ . : / = + - @."""
    return all(unicodedata.category(ch)[0] in "LNZ" or ch in "_.:/=+-@" for ch in text)


# ------------------------------------------------------------------ CloudWatch Logs

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)

# ------------------------------------------------------------------ Glue and Athena

GLUE_WORKER_TYPES = ("G.1X", "G.2X", "G.4X", "G.8X")
ATHENA_MIN_CUTOFF_MB = 10  # Athena refuses a per-query cutoff below 10,000,000 bytes

# Glue cron: minutes hours day-of-month month day-of-week year, '?' in exactly one of the two day
# fields. Each field: * or a comma list of values, ranges (a-b) and steps (x/n).
CRON_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
CRON_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (name, lowest, highest, names allowed instead of numbers)
CRON_FIELDS = (("minutes", 0, 59, ()), ("hours", 0, 23, ()), ("day-of-month", 1, 31, ()),
               ("month", 1, 12, CRON_MONTHS), ("day-of-week", 1, 7, CRON_WEEKDAYS), ("year", 1970, 2199, ()))


def _whole(text: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+", text))


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.upper() in names:
        return True
    return _whole(text) and low <= int(text) <= high


def cron_field_ok(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    """Whether `text` is a valid value of the Glue cron field `name` (one entry of CRON_FIELDS)."""
    if name == "day-of-month" and re.fullmatch(r"L|LW|[0-9]{1,2}W", text):
        return text in ("L", "LW") or 1 <= int(text[:-1]) <= 31
    if name == "day-of-week" and (special := re.fullmatch(r"(\w+)(?:L|#[1-5])", text)):
        return _cron_value(special.group(1), low, high, names)
    if name == "day-of-week" and text == "L":
        return True
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (_whole(step) and 1 <= int(step) <= high):
            return False
        if base == "*":
            continue
        ends = base.split("-")
        if len(ends) > 2 or not all(_cron_value(end, low, high, names) for end in ends):
            return False
    return True


# ------------------------------------------------------------------ VPC

# Environment-agnostic stacks resolve at most two availability zones (Fn::GetAZs, no lookup).
MAX_AZ_COUNT = 2
# Interface endpoints the VPC can hold. The app creates the ones its deployed consumers need (see
# stacks/wiring.py); `extra_interface_endpoints` adds more for your own workloads.
INTERFACE_ENDPOINT_NAMES = ("sagemaker.api", "sagemaker.runtime", "sts", "logs", "monitoring", "kms", "ecr.api",
                            "ecr.dkr", "states", "glue", "athena", "kinesis-streams",
                            "execute-api")

# ------------------------------------------------------------------ SageMaker

# SageMaker instance types this app accepts. All are EBS-backed: SageMaker cannot apply a KMS key to
# instance-store (NVMe) volumes, and every volume here is encrypted with the ML key.
TRAINING_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c5.xlarge",
                           "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.r5.large", "ml.r5.xlarge", "ml.r5.2xlarge")
HOSTING_INSTANCE_TYPES = ("ml.t2.medium", "ml.t2.large", "ml.m5.large", "ml.m5.xlarge", "ml.c5.large",
                          "ml.c5.xlarge", "ml.r5.large")
NOTEBOOK_INSTANCE_TYPES = ("ml.t3.medium", "ml.t3.large", "ml.m5.xlarge")
# Batch transform (CreateTransformJob's TransformResources.InstanceType, botocore 2026-11): EBS-backed
# types only, as above; ml.c5.large, a hosting type, is not a transform type.
TRANSFORM_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.c5.xlarge",
                            "ml.c5.2xlarge", "ml.c5.4xlarge", "ml.m6i.large", "ml.m6i.xlarge", "ml.c6i.large",
                            "ml.c6i.xlarge")
# CreateTransformJob: MaxPayloadInMB at most 100, and MaxConcurrentTransforms * MaxPayloadInMB too.
TRANSFORM_MAX_PAYLOAD_MB = 100
# Processing instances for Model Monitor's baseline and scheduled jobs (EBS-backed, like the above).
PROCESSING_INSTANCE_TYPES = ("ml.m5.large", "ml.m5.xlarge", "ml.m5.2xlarge", "ml.c5.xlarge", "ml.c5.2xlarge",
                             "ml.r5.large", "ml.r5.xlarge")
# The schedules Model Monitor accepts (ScheduleConfig, SageMaker API reference): hourly, daily at hour
# H, or every N hours from hour H, all UTC. (H, N) are None for hourly, N is None for daily.
MONITOR_SCHEDULE = re.compile(r"cron\(0 (?:\*|(\d{1,2})(?:/(\d{1,2}))?) \? \* \* \*\)")


def monitor_schedule_hours(expression: str) -> int | None:
    """Hours between two runs of a Model Monitor schedule (24 when daily), or None if not accepted."""
    match = MONITOR_SCHEDULE.fullmatch(expression)
    if not match:
        return None
    start, step = match.groups()
    if (start is not None and int(start) > 23) or (step is not None and not 1 <= int(step) <= 24):
        return None
    return 1 if start is None else 24 if step is None else int(step)
VARIANT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")

# The built-in SageMaker XGBoost algorithm (1.7) takes every hyperparameter as a string. Each entry:
# what is allowed (for the message) and whether a string is allowed.


def _hp_int(low: int, high: int | None = None) -> tuple[str, Callable[[str], bool]]:
    desc = f"a whole number from {low}" + (f" to {high}" if high is not None else " up")
    return desc, lambda t: bool(re.fullmatch(r"-?[0-9]+", t)) and low <= int(t) and (high is None or int(t) <= high)


def _hp_float(interval: str) -> tuple[str, Callable[[str], bool]]:
    """A number in an interval written like "[0, 1]", "(0, 1]" or "[0, inf)"."""
    low, high = (float(end) for end in interval[1:-1].split(","))

    def ok(text: str) -> bool:
        try:
            number = float(text) if text.isascii() else float("nan")
        except ValueError:
            return False
        above = number > low if interval[0] == "(" else number >= low
        below = number < high if interval[-1] == ")" else number <= high
        return above and below and number == number  # NaN is not a number here

    return f"a number in {interval}", ok


def _hp_enum(*values: str) -> tuple[str, Callable[[str], bool]]:
    return "one of " + ", ".join(values), lambda t: t in values


_OBJECTIVES = ("reg:squarederror", "reg:squaredlogerror", "reg:logistic", "reg:pseudohubererror",
               "reg:absoluteerror", "reg:gamma", "reg:tweedie", "binary:logistic", "binary:logitraw",
               "binary:hinge", "count:poisson", "survival:cox", "survival:aft", "multi:softmax", "multi:softprob",
               "rank:pairwise", "rank:ndcg", "rank:map")
_EVAL_METRICS = ("rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc", "aucpr",
                 "ndcg", "map", "poisson-nloglik", "gamma-nloglik", "cox-nloglik", "gamma-deviance",
                 "tweedie-nloglik", "aft-nloglik", "interval-regression-accuracy")
_EVAL_METRIC = re.compile("|".join(map(re.escape, _EVAL_METRICS))
                          + r"|error@[0-9.]+|tweedie-nloglik@[0-9.]+|(?:ndcg|map)(?:@\d+)?-?")
_ANY_TEXT = ("a string", lambda t: True)
XGBOOST_HYPERPARAMETERS: dict[str, tuple[str, Callable[[str], bool]]] = {
    "num_round": _hp_int(1), "num_class": _hp_int(2), "alpha": _hp_float("[0, inf)"),
    "base_score": _hp_float("(-inf, inf)"), "booster": _hp_enum("gbtree", "gblinear", "dart"),
    "colsample_bylevel": _hp_float("(0, 1]"), "colsample_bynode": _hp_float("(0, 1]"),
    "colsample_bytree": _hp_float("(0, 1]"), "csv_weights": _hp_enum("0", "1"),
    "deterministic_histogram": _hp_enum("true", "false"), "early_stopping_rounds": _hp_int(1),
    "eta": _hp_float("[0, 1]"),
    "eval_metric": (f"a comma-separated list of {', '.join(_EVAL_METRICS)} (error@t, ndcg@n, map@n allowed)",
                    lambda t: all(_EVAL_METRIC.fullmatch(m) for m in t.split(","))),
    "gamma": _hp_float("[0, inf)"), "grow_policy": _hp_enum("depthwise", "lossguide"),
    "interaction_constraints": _ANY_TEXT, "lambda": _hp_float("[0, inf)"), "lambda_bias": _hp_float("[0, 1]"),
    "max_bin": _hp_int(2), "max_delta_step": _hp_float("[0, inf)"), "max_depth": _hp_int(0),
    "max_leaves": _hp_int(0), "min_child_weight": _hp_float("[0, inf)"), "monotone_constraints": _ANY_TEXT,
    "normalize_type": _hp_enum("tree", "forest"), "nthread": _hp_int(1), "objective": _hp_enum(*_OBJECTIVES),
    "one_drop": _hp_enum("0", "1"), "process_type": _hp_enum("default", "update"), "rate_drop": _hp_float("[0, 1]"),
    "refresh_leaf": _hp_enum("0", "1"), "sample_type": _hp_enum("uniform", "weighted"),
    "scale_pos_weight": _hp_float("(0, inf)"), "seed": _hp_int(0),
    "single_precision_histogram": _hp_enum("true", "false"), "sketch_eps": _hp_float("(0, 1)"),
    "skip_drop": _hp_float("[0, 1]"), "subsample": _hp_float("(0, 1]"),
    "tree_method": _hp_enum("auto", "exact", "approx", "hist", "gpu_hist"),
    "tweedie_variance_power": _hp_float("(1, 2)"), "updater": _ANY_TEXT,
    "use_dask_gpu_training": _hp_enum("true", "false"), "verbosity": _hp_enum("0", "1", "2", "3"),
}

# --------------------------------------------------------------------------- automatic model tuning (XGBoost)
# The metrics SageMaker's XGBoost emits for tuning, with the direction that improves each (SageMaker
# developer guide, "Tune an XGBoost Model": metrics computed by the algorithm). The direction is
# fixed by the metric, so a setting cannot ask to maximize an error.
XGBOOST_TUNING_METRICS: dict[str, str] = {
    "validation:accuracy": "Maximize", "validation:auc": "Maximize", "validation:error": "Minimize",
    "validation:f1": "Maximize", "validation:logloss": "Minimize", "validation:mae": "Minimize",
    "validation:map": "Maximize", "validation:merror": "Minimize", "validation:mlogloss": "Minimize",
    "validation:mse": "Minimize", "validation:ndcg": "Maximize", "validation:rmse": "Minimize",
}
# XGBoost's tunable hyperparameters (same page, "Tunable XGBoost hyperparameters"): their range type
# and the recommended range. The allowed bounds are the hyperparameter's own (XGBOOST_HYPERPARAMETERS).
XGBOOST_TUNABLE: dict[str, tuple[str, float, float]] = {
    "alpha": ("Continuous", 0, 1000), "colsample_bylevel": ("Continuous", 0.1, 1),
    "colsample_bynode": ("Continuous", 0.1, 1), "colsample_bytree": ("Continuous", 0.5, 1),
    "eta": ("Continuous", 0.1, 0.5), "gamma": ("Continuous", 0, 5), "lambda": ("Continuous", 0, 1000),
    "max_delta_step": ("Integer", 0, 10), "max_depth": ("Integer", 0, 10),
    "min_child_weight": ("Continuous", 0, 120), "num_round": ("Integer", 1, 4000),
    "subsample": ("Continuous", 0.5, 1),
}
TUNING_SCALING_TYPES = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
TUNING_MAX_JOBS = 500  # MaxNumberOfTrainingJobs (default quota per tuning job)
TUNING_MAX_PARALLEL_JOBS = 100  # MaxParallelTrainingJobs
TUNING_MAX_WARM_START_PARENTS = 5  # HyperParameterTuningJobWarmStartConfig.ParentHyperParameterTuningJobs
TUNING_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$")  # HyperParameterTuningJobName: 1..32
WARM_START_TYPES = ("IdenticalDataAndAlgorithm", "TransferLearning")
MODEL_APPROVAL_MODES = ("automatic", "manual")
