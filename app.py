#!/usr/bin/env python3
"""CDK entry point: `cdk synth [-c profile=prod]`. See README.md."""

import os
import sys

from config.settings import SettingsError
from stacks.app_factory import PROJECT_ROOT, build_app


def main() -> int:
    try:
        built = build_app(outdir=os.environ.get("CDK_OUTDIR") or str(PROJECT_ROOT / "cdk.out"))
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        built.app.synth()
    except Exception as error:  # jsii wraps the validation failure in a generic RuntimeError
        if "ValidationFailed" not in str(error):
            raise
        print(
            "Synth failed: unacknowledged security findings (listed above; full report in the "
            "cloud assembly's validation-report.json). Fix them, or acknowledge one rule on one "
            "resource with patterns.compliance.acknowledge and a specific reason.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
