"""What every operator command shares: exit codes, errors, the deployment options and the runtime
(clock, sleep and output), which the tests replace so that no polling loop really sleeps."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import sys
import time
from collections.abc import Callable

from config.profiles import PROFILES, load_deployment
from config.settings import Settings, SettingsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NO_AWS = 0, 1, 2, 3
EXIT_CODES_HELP = """exit codes:
  0  success
  1  a check or an AWS request failed
  2  usage or settings error (bad option, unreadable --config file, invalid settings)
  3  no AWS credentials or no region, or AWS rejected the credentials
  130  interrupted (Ctrl-C)"""


class OpsError(Exception):
    """A failure the command reports in one line, with its exit code."""

    exit_code = EXIT_FAILED


class UsageError(OpsError):
    exit_code = EXIT_USAGE


class NoAwsAccess(OpsError):
    exit_code = EXIT_NO_AWS


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclasses.dataclass
class Runtime:
    """Time and output of a command. Results go to stdout, progress and notes to stderr."""

    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime.datetime] = utc_now
    tty: bool | None = None  # None: whether stderr is a terminal

    @property
    def interactive(self) -> bool:
        return sys.stderr.isatty() if self.tty is None else self.tty

    def say(self, text: str) -> None:
        print(text, flush=True)

    def note(self, text: str, *, end: str = "\n") -> None:
        print(text, file=sys.stderr, end=end, flush=True)


def settings_profile(value: str) -> str:
    """--profile names a settings profile; an AWS CLI user may mean an AWS named profile."""
    if value not in PROFILES:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a settings profile (use {' or '.join(sorted(PROFILES))}); for an AWS named "
            f"profile use --aws-profile {value} or export AWS_PROFILE={value}")
    return value


def add_deployment_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", type=settings_profile, metavar="{" + ",".join(sorted(PROFILES)) + "}",
                        help="settings profile of the deployment (default: the --config file's, else sandbox); "
                             "not an AWS profile: see --aws-profile")
    parser.add_argument("--config", metavar="FILE",
                        help='deployment settings file: {"profile": "sandbox", "overrides": {"name_prefix": ...}}')


def add_aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the AWS profile's)")
    parser.add_argument("--aws-profile", metavar="NAME",
                        help="AWS named profile for credentials and region (default: AWS_PROFILE, then default)")


def deployment_settings(args: argparse.Namespace) -> Settings:
    """The settings of the deployment chosen with --config and/or --profile (default: sandbox)."""
    try:
        return load_deployment(args.config, args.profile)
    except SettingsError as error:
        raise UsageError(str(error)) from None  # names the file and every bad setting


def describe_deployment(settings: Settings) -> str:
    return f"deployment {settings.name_prefix} (profile {settings.profile})"
