#!/usr/bin/env python3
"""CDK entry point: the CDK CLI runs it (cdk.json "app") for `cdk synth|diff|deploy|destroy`.

It takes the same context flags when run on its own and writes the cloud assembly to cdk.out (or
$CDK_OUTDIR):

    python app.py [-c profile=sandbox|prod] [-c config=SETTINGS_FILE] [-c overrides=JSON]

Exit status: 0 synthesized, 1 unacknowledged security findings, 2 invalid settings or arguments.
See README.md, "Configuration".
"""

import json
import os
import sys
from pathlib import Path

from config import deployment
from config.settings import SettingsError

ROOT = Path(__file__).resolve().parent
USAGE = "usage: python app.py [-c profile=sandbox|prod] [-c config=SETTINGS_FILE] [-c overrides=JSON]"


def context_from_args(argv: list[str]) -> dict[str, str]:
    """The -c KEY=VALUE flags, as the CDK CLI reads them (values are strings). Raises SettingsError."""
    problems = []
    for i, arg in enumerate(argv):
        after_flag = i > 0 and argv[i - 1] in ("-c", "--context")
        if arg in ("-c", "--context") and i + 1 == len(argv):
            problems.append(f"{arg} needs KEY=VALUE after it")
        elif (after_flag and "=" not in arg) or (arg.startswith("--context=") and "=" not in arg[10:]):
            problems.append(f"{arg}: use -c KEY=VALUE")
        elif not (after_flag or arg in ("-c", "--context") or arg.startswith("--context=")):
            problems.append(f"unexpected argument \"{arg}\": this app takes only -c KEY=VALUE context flags")
    flags = deployment.parse_flags(argv)
    if problems:
        raise SettingsError(problems + [USAGE], source="arguments")
    deployment.check({}, flags, known_keys=())  # repeated keys
    return dict(flags)


def main(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        print(__doc__)
        return 0
    try:
        context = context_from_args(argv)
        # Check the settings before loading CDK (~1.5 s), so a bad value fails at once.
        deployment.resolve(context, json.loads((ROOT / "cdk.json").read_text())["context"])
        from stacks.app_factory import build_app

        built = build_app(context, outdir=os.environ.get("CDK_OUTDIR") or str(ROOT / "cdk.out"))
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
    sys.exit(main(sys.argv[1:]))
