"""Refuse to spend on an account whose AWS Budgets budget is already spent past a share of its limit.

The aws-target workflow (.github/workflows/aws-target.yml) runs it before it deploys anything:

    python -m labkit.budgetguard BUDGET_NAME --max-percent 80

It reads the budget's actual spend and, when AWS has one, its forecast, and exits non-zero with a message
naming both when either is over the share, or when the budget cannot be read: a guard that cannot look says
no. Budgets updates spend a few times a day, so it is a cap on a runaway account, not a meter.
"""

import argparse
import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from labkit.errors import LabkitError

DEFAULT_MAX_PERCENT = 80.0


def check(budget_name: str, max_percent: float = DEFAULT_MAX_PERCENT) -> str:
    """A line saying the budget is under the share; a LabkitError saying why not otherwise."""
    try:
        account_id = boto3.client("sts").get_caller_identity()["Account"]
        budget = boto3.client("budgets").describe_budget(AccountId=account_id, BudgetName=budget_name)["Budget"]
    except (BotoCoreError, ClientError) as error:
        raise LabkitError(f"cannot read the budget {budget_name!r}, so nothing is run: {error}") from error
    limit = _amount(budget.get("BudgetLimit"))
    if not limit:
        raise LabkitError(f"the budget {budget_name!r} has no cost limit to compare with: give it one")
    spend = budget.get("CalculatedSpend", {})
    actual, forecast = _amount(spend.get("ActualSpend")), _amount(spend.get("ForecastedSpend"))
    unit = budget["BudgetLimit"].get("Unit", "USD")
    said = f"{actual:.2f} of {limit:.2f} {unit} spent ({100 * actual / limit:.0f}%)"
    said += f", {forecast:.2f} forecast ({100 * forecast / limit:.0f}%)" if forecast else ", no forecast yet"
    if max(actual, forecast or 0.0) > limit * max_percent / 100:
        raise LabkitError(f"budget {budget_name!r}: {said}, over {max_percent:g}%: nothing is run")
    return f"budget {budget_name!r}: {said}, under {max_percent:g}%"


def _amount(spend: dict | None) -> float:
    return float(spend["Amount"]) if spend and spend.get("Amount") else 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m labkit.budgetguard", description=__doc__.splitlines()[0])
    parser.add_argument("budget", help="the AWS Budgets budget's name")
    parser.add_argument(
        "--max-percent", type=float, default=DEFAULT_MAX_PERCENT, help="refuse above this share of the limit"
    )
    args = parser.parse_args(argv)
    try:
        print(check(args.budget, args.max_percent))
    except LabkitError as error:
        print(f"budget guard: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
