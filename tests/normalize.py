"""Template normalization for snapshots: drop what changes with the CDK version or asset content only."""

from __future__ import annotations

import copy
import re
from typing import Any

ASSET_HASH = re.compile(r"[0-9a-f]{64}")
CDK_METADATA_KEYS = ("aws:cdk:path", "aws:asset:path", "aws:asset:is-bundled", "aws:asset:property")


def normalize(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    template.get("Resources", {}).pop("CDKMetadata", None)
    template.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    template.get("Parameters", {}).pop("BootstrapVersion", None)
    template.get("Rules", {}).pop("CheckBootstrapVersion", None)
    for section in ("Conditions", "Parameters", "Rules"):
        if section in template and not template[section]:
            del template[section]
    for resource in template.get("Resources", {}).values():
        metadata = resource.get("Metadata", {})
        for key in CDK_METADATA_KEYS:
            metadata.pop(key, None)
        if "Metadata" in resource and not metadata:
            del resource["Metadata"]
    return _replace_hashes(template)


def _replace_hashes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _replace_hashes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_hashes(v) for v in value]
    if isinstance(value, str):
        return ASSET_HASH.sub("<asset-hash>", value)
    return value
