"""Where SageMaker writes in the data lake: one prefix per kind of object, owned by the SageMaker
patterns (their roles are scoped to them) and left alone by crawlers, and the data-capture
configuration that TrainingPipeline and RealtimeEndpoint both give their endpoints.

- curated zone: `models/` (training output, hosted model artifacts) and `checkpoints/` (spot training);
- raw zone: `data-capture/` (the requests and responses endpoints capture);
- curated zone: `monitoring/` (Model Monitor's baselines and reports), and `baseline/` inside the
  training-data prefix: the features-only CSV a data-quality baseline is computed from.

Usage, in any stack::

    crawler_exclusions = [f"{MODELS_PREFIX}**", f"{CHECKPOINTS_PREFIX}**"]
    request = {"EndpointConfigName": "acme", **data_capture(20, lake)}  # a CreateEndpointConfig request
"""

from __future__ import annotations

from typing import Any

from patterns.data_lake import DataLakeStorage

MODELS_PREFIX = "models/"
CHECKPOINTS_PREFIX = "checkpoints/"
DATA_CAPTURE_PREFIX = "data-capture/"
MONITORING_PREFIX = "monitoring/"
BASELINE_INPUT_FOLDER = "baseline/"  # inside the training-data prefix, beside train/ and validation/


def data_capture(sampling_percent: int, lake: DataLakeStorage) -> dict[str, Any]:
    """The DataCaptureConfig of a CreateEndpointConfig request: `sampling_percent` of the requests and
    responses to the raw zone's data-capture prefix, encrypted with the lake key; none at 0."""
    if not 0 <= sampling_percent <= 100:
        raise ValueError(f"data_capture_sampling_percent={sampling_percent}: use 0 (no capture) to 100")
    if sampling_percent == 0:
        return {}
    return {"DataCaptureConfig": {
        "EnableCapture": True,
        "InitialSamplingPercentage": sampling_percent,
        "DestinationS3Uri": f"s3://{lake.raw.bucket_name}/{DATA_CAPTURE_PREFIX}",
        "KmsKeyId": lake.key.key_arn,
        "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
    }}
