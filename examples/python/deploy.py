#!/usr/bin/env python3
"""Deploy with a preflight: copy this script into your pipeline.

    python deploy.py --environment production -- ./rollout.sh api 1.4.2

1. Detects the CI system (GitHub Actions, GitLab, Jenkins, ...) and fills in the product,
   version, commit, who deploys and a link to the run; flags override what it detects.
2. Applies the policy file (``--policy``, default ``versioner.toml`` when it exists).
3. Records the deployment as ``started``: the preflight evaluates every rule. When a rule
   refuses, it prints the verdict — every rule's outcome, and when to retry — and exits 5
   without running the command.
4. Runs the deploy command. Exit 0 records ``completed``; a failure records ``failed`` and
   exits with the command's code.

``--dry-run`` only evaluates the preflight and prints the verdict (exit 5 when blocked).
It records into the SQLite file ``--db`` or ``$VERSIONER_DB`` (default ``versioner.db``), or,
when ``$VERSIONER_API_URL`` is set, into that ``versioner serve`` with ``$VERSIONER_API_KEY``.
Exit codes follow the ``versioner`` CLI: 0 ok, 1 error, 4 rejected input, 5 blocked by policy.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import List, Optional, Sequence

import versioner

EXIT_BLOCKED = 5


def parse_args(argv: Sequence[str], ci: versioner.CiInfo) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--product", default=ci.product, help="default: detected from CI")
    p.add_argument("--version", default=ci.version, help="default: detected from CI")
    p.add_argument("--environment", required=True, help="e.g. staging, production")
    p.add_argument("--deployed-by", default=ci.user or os.environ.get("USER"))
    p.add_argument("--db", default=os.environ.get("VERSIONER_DB", "versioner.db"))
    p.add_argument("--policy", help="policy file (default: versioner.toml if present)")
    p.add_argument("--dry-run", action="store_true", help="only evaluate the preflight")
    p.add_argument("--skip-preflight", metavar="REASON",
                   help="emergency bypass; the reason is recorded with the deployment")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- the deploy command")
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.product or not args.version:
        p.error("--product and --version are required outside a recognised CI system")
    if not args.command and not args.dry_run:
        p.error("give the deploy command after --, or use --dry-run")
    return args


def print_verdict(verdict: versioner.Verdict) -> None:
    """Every rule's outcome, the primary failure first in the summary."""
    print(f"preflight: {verdict.decision} — {verdict.summary}", file=sys.stderr)
    for o in verdict.outcomes:
        code = f" [{o.code}]" if o.code else ""
        print(f"  {o.status:<18} {o.rule_name}{code}: {o.message}", file=sys.stderr)
    if verdict.retry_after is not None:
        print(f"  retry after {verdict.retry_after.isoformat()}", file=sys.stderr)


def main(argv: Optional[List[str]] = None) -> int:
    ci = versioner.detect_ci()
    args = parse_args(sys.argv[1:] if argv is None else argv, ci)
    api_url = os.environ.get("VERSIONER_API_URL")
    vr: versioner.Tracker
    if api_url:
        vr = versioner.Client(api_url, os.environ.get("VERSIONER_API_KEY"))
    else:
        vr = versioner.Versioner(args.db)

    policy = args.policy or ("versioner.toml" if os.path.exists("versioner.toml") else None)
    if policy:
        report = vr.apply_policy(policy, actor=args.deployed_by or "deploy.py")
        changed = report.added + report.updated + report.deleted
        if changed:
            print(f"policy {policy}: changed {', '.join(changed)}", file=sys.stderr)

    if args.dry_run:
        verdict = vr.check(product_name=args.product, version=args.version,
                           environment_name=args.environment, deployed_by=args.deployed_by)
        print_verdict(verdict)
        return 0 if verdict.allowed else EXIT_BLOCKED

    try:
        with vr.deploying(
            product_name=args.product,
            version=args.version,
            environment_name=args.environment,
            deployed_by=args.deployed_by,
            scm_sha=ci.scm_sha,
            scm_repository=ci.scm_repository,
            build_number=ci.build_number,
            deploy_url=ci.build_url,
            invoke_id=ci.invoke_id,
            source_system=ci.source_system,
            extra_metadata=ci.metadata,
            skip_preflight_checks=bool(args.skip_preflight),
            skip_preflight_reason=args.skip_preflight,
        ) as run:
            for warning in run.warnings:
                print(f"warning (report-only rule): {warning.rule_name}: {warning.message}",
                      file=sys.stderr)
            print(f"deploying {args.product} {args.version} to {args.environment} "
                  f"(deployment {run.id})", file=sys.stderr)
            subprocess.run(args.command, check=True)
    except versioner.DeploymentBlockedError as blocked:
        if blocked.verdict is not None:
            print_verdict(blocked.verdict)
        else:
            print(f"blocked: {blocked}", file=sys.stderr)
        return EXIT_BLOCKED
    except subprocess.CalledProcessError as failed:
        print(f"deploy command failed with exit code {failed.returncode}; recorded as failed",
              file=sys.stderr)
        return failed.returncode or 1
    except versioner.VersionerError as err:
        print(f"versioner: {err.code}: {err}", file=sys.stderr)
        return err.exit_code
    print(f"deployed {args.product} {args.version} to {args.environment}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
