"""The operator commands' one entry point: `python -m ops <command> [options]`.

`python -m ops --help` lists the commands; `python -m ops <command> --help` shows a command's
options, examples and exit codes.
"""

from __future__ import annotations

import argparse
import sys

from ops import approve, invoke_api, send_events, smoke, train, whoami
from ops.aws import AWS_ERRORS, failure
from ops.cli import EXIT_CODES_HELP, OpsError, Runtime

COMMANDS = (send_events, train, smoke, whoami, approve, invoke_api)
DEPLOYMENT_HELP = """which deployment:
  --config FILE reads a deployment settings file {"profile": ..., "overrides": {...}} (for example
  deployments/example.json: another name_prefix); --profile sandbox|prod picks a profile (default: the
  file's, else sandbox). Stacks are <name_prefix>-<stack>. AWS credentials and region come from
  --aws-profile/--region or the usual AWS configuration (AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION,
  ~/.aws/config)."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ops", description="Operator commands for a deployed app (AWS credentials needed).",
        epilog="\n\n".join(["examples:" + "".join(c.EXAMPLES.removeprefix("examples:") for c in COMMANDS),
                             DEPLOYMENT_HELP, EXIT_CODES_HELP]),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        summary = command.__doc__.split("\n\n")[0]
        deployment = [DEPLOYMENT_HELP] if getattr(command, "USES_DEPLOYMENT", True) else []
        sub = commands.add_parser(command.NAME, help=summary, description=command.__doc__,
                                  epilog="\n\n".join([command.EXAMPLES, *deployment, EXIT_CODES_HELP]),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return p


def main(argv: list[str] | None = None, *, runtime: Runtime | None = None) -> int:
    """Run one command; usage errors exit 2 through argparse, every other failure is one line."""
    args = parser().parse_args(argv)
    runtime = runtime or Runtime()
    try:
        return args.run(args, runtime)
    except OpsError as error:
        reported = error
    except AWS_ERRORS as error:
        reported = failure(error)
    except KeyboardInterrupt:
        runtime.note("interrupted")
        return 130
    runtime.note(f"error: {reported}")
    return reported.exit_code


if __name__ == "__main__":
    sys.exit(main())
