"""Where SageMaker writes in the data lake: one prefix per kind of object, owned by the SageMaker
patterns (their roles are scoped to them) and left alone by crawlers.

- curated zone: `models/` (training output, hosted model artifacts) and `checkpoints/` (spot training);
- raw zone: `data-capture/` (the requests and responses endpoints capture).

Usage, in any stack::

    crawler_exclusions = [f"{MODELS_PREFIX}**", f"{CHECKPOINTS_PREFIX}**"]
"""

from __future__ import annotations

MODELS_PREFIX = "models/"
CHECKPOINTS_PREFIX = "checkpoints/"
DATA_CAPTURE_PREFIX = "data-capture/"
