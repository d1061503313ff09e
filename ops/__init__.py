"""Operator commands for a deployed app: `python -m ops <command>` (see ops/__main__.py).

Build tooling (docs, diagrams, costs, gates, benchmark) lives in scripts/; this package holds only
the commands an operator runs against AWS: send-events, train, smoke and whoami (the
credentials check the Makefile's AWS targets run first).

Exit codes, the same for every command:
  0  success
  1  a check or an AWS request failed
  2  usage or settings error (bad option, unreadable --config file, invalid settings)
  3  no AWS credentials or no region, or AWS rejected the credentials
  130  interrupted (Ctrl-C)
"""
