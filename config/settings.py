"""The settings API of this app, in one import: typed, validated settings, one object per profile.

The parts live where their names say:
- config/schema.py: the settings classes and this app's own rules (zones, name prefix, ...);
- config/aws_limits.py: what AWS accepts (retention periods, instance types, naming rules, ...);
- config/validation.py: the generic machinery (field checks, messages, parsing, merging);
- config/profiles.py: the sandbox and prod profiles and settings files.
"""

from __future__ import annotations

from config.aws_limits import (
    HOSTING_INSTANCE_TYPES,
    LOG_RETENTION_DAYS,
    NOTEBOOK_INSTANCE_TYPES,
    PROCESSING_INSTANCE_TYPES,
)
from config.schema import (
    ACCESS_LOGS_BUCKET_PURPOSE,
    MAX_NAME_PREFIX,
    SUBNET_PREFIX_LENGTH,
    ZONE_NAMES,
    AuditSettings,
    CatalogSettings,
    DataLakeSettings,
    InferenceApiSettings,
    LakeFormationSettings,
    NetworkSettings,
    SageMakerSettings,
    Settings,
    StreamingSettings,
    VariantSettings,
    ZoneLifecycle,
    parse_settings,
    settings_as_json,
)
from config.validation import SettingsError, deep_merge, suggest

__all__ = [
    "ACCESS_LOGS_BUCKET_PURPOSE", "HOSTING_INSTANCE_TYPES", "LOG_RETENTION_DAYS", "MAX_NAME_PREFIX",
    "NOTEBOOK_INSTANCE_TYPES", "SUBNET_PREFIX_LENGTH", "ZONE_NAMES", "CatalogSettings", "DataLakeSettings",
    "LakeFormationSettings",
    "InferenceApiSettings",
    "NetworkSettings", "SageMakerSettings", "Settings", "SettingsError", "StreamingSettings", "VariantSettings",
    "ZoneLifecycle", "AuditSettings", "deep_merge", "parse_settings", "settings_as_json", "suggest",
    "PROCESSING_INSTANCE_TYPES",
]
