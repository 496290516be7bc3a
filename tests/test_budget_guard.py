"""The aws-target workflow's budget guard (python -m labkit.budgetguard) against the local cloud's AWS Budgets:
it lets a run start under the share of the budget's limit and refuses, saying why, over it (actual or forecast
spend), and when it cannot read the budget. AWS computes a budget's spend itself; the local cloud keeps what
it was created with, which is how these tests set it."""

import boto3
import pytest

from labkit import budgetguard


@pytest.fixture
def budget(cloud):
    """Makes a cost budget of 100 USD a month with the given spend; deletes it after the test."""
    budgets, account, made = boto3.client("budgets"), cloud.account_id, []

    def make(name: str, actual: str, forecast: str | None = None) -> str:
        spend = {"ActualSpend": {"Amount": actual, "Unit": "USD"}}
        if forecast is not None:
            spend["ForecastedSpend"] = {"Amount": forecast, "Unit": "USD"}
        budgets.create_budget(
            AccountId=account,
            Budget={
                "BudgetName": name,
                "BudgetLimit": {"Amount": "100", "Unit": "USD"},
                "TimeUnit": "MONTHLY",
                "BudgetType": "COST",
                "CalculatedSpend": spend,
            },
        )
        made.append(name)
        return name

    yield make
    for name in made:
        budgets.delete_budget(AccountId=account, BudgetName=name)


def test_a_budget_under_its_share_lets_the_run_start(budget, capsys):
    name = budget("course-under", actual="42.50", forecast="61")

    assert budgetguard.main([name, "--max-percent", "80"]) == 0

    assert capsys.readouterr().out == (
        "budget 'course-under': 42.50 of 100.00 USD spent (42%), 61.00 forecast (61%), under 80%\n"
    )


def test_a_budget_spent_past_its_share_refuses_the_run(budget, capsys):
    name = budget("course-over", actual="85")

    assert budgetguard.main([name, "--max-percent", "80"]) == 1

    assert capsys.readouterr().err == (
        "budget guard: budget 'course-over': 85.00 of 100.00 USD spent (85%), no forecast yet, over 80%: "
        "nothing is run\n"
    )


def test_a_forecast_past_the_share_refuses_the_run_before_the_spend_gets_there(budget, capsys):
    name = budget("course-forecast", actual="30", forecast="95")

    assert budgetguard.main([name, "--max-percent", "80"]) == 1

    assert "30.00 of 100.00 USD spent (30%), 95.00 forecast (95%), over 80%: nothing is run" in capsys.readouterr().err


def test_a_budget_that_cannot_be_read_refuses_the_run(cloud, capsys):
    assert budgetguard.main(["no-such-budget"]) == 1

    said = capsys.readouterr().err
    assert said.startswith("budget guard: cannot read the budget 'no-such-budget', so nothing is run: ")
    assert "NotFoundException" in said
