"""What a check function receives: the target, boto3 clients, HTTP, the learner's objects, and the
course's one way to say that something is not there yet, or wrong."""

import contextlib
import json
from collections.abc import Callable
from typing import NoReturn

import boto3
import requests

from labkit.awsapi import Clients
from labkit.checks import NOT_FOUND_CODES, InTheNotebookOnly, NotDoneYet, Wrong, aws_error_code
from labkit.checks import learner as learner_code
from labkit.errors import LabkitError

HTTP_TIMEOUT_S = 10


class Context:
    def __init__(self, env, learner: dict, in_terminal: bool = False):
        from labkit import course

        self.env = env or course.current() or course.start(quiet=True)
        self.learner = learner
        self.in_terminal = in_terminal
        self.client = Clients()  # ctx.client("sqs"): one client per service, as the inventory makes them
        self._dynamodb = None

    def get(self, url: str, **kwargs) -> requests.Response:
        return requests.get(url, timeout=HTTP_TIMEOUT_S, **kwargs)

    def post(self, url: str, **kwargs) -> requests.Response:
        return requests.post(url, timeout=HTTP_TIMEOUT_S, **kwargs)

    def table(self, name: str, *, fix: str = ""):
        """The DynamoDB table `name` as boto3's Table, which reads and writes items as plain Python values;
        not done yet while it does not exist."""
        if self._dynamodb is None:
            self._dynamodb = boto3.resource("dynamodb")
        table = self._dynamodb.Table(name)
        with self.not_done_if_missing(f"DynamoDB table {name!r}", fix):
            table.load()
        return table

    def invoke(self, function_name: str, event, *, raised: Callable[[str], str] | None = None, fix: str = ""):
        """Invoke the deployed Lambda function `function_name` with `event`; returns what it returned.

        When it raised, the check fails with `raised(error)`, error being one line with AWS's errorType and
        errorMessage and the function's own line ("KeyError: 'id' (handler.py, line 12)"); by default
        "your function NAME raised ...". An unwritten TODO it raised is not done yet."""
        with self.not_done_if_missing(f"Lambda function {function_name!r}", fix):
            answer = self.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(event))
        payload = json.loads(answer["Payload"].read() or b"null")
        if not answer.get("FunctionError"):
            return payload
        error = payload if isinstance(payload, dict) else {"errorMessage": str(payload)}
        if learner_code.is_todo(error.get("errorType", ""), str(error.get("errorMessage", ""))):
            self.not_done(f"your function {function_name} is not written yet ({error['errorMessage']})")
        summary = learner_code.summarise_function_error(error)
        self.fail(raised(summary) if raised else f"your function {function_name} raised {summary}")

    def service_url(self, name: str) -> str:
        """The URL of a service the learner runs as a local process (labkit.localproc)."""
        from labkit import localproc

        process = localproc.find(name)
        if process is None:
            self.not_done(f"the {name} process is not running: run the step that starts it")
        return process.url

    def api_url(self, name: str, stage: str | None = None, *, fix: str = "") -> str:
        """The invoke URL of the REST API or HTTP API called `name`, on either target."""
        rest = [
            api["id"]
            for page in self.client("apigateway").get_paginator("get_rest_apis").paginate()
            for api in page["items"]
            if api["name"] == name
        ]
        http = [
            api["ApiId"]
            for page in self.client("apigatewayv2").get_paginator("get_apis").paginate()
            for api in page["Items"]
            if api["Name"] == name
        ]
        found = rest + http
        if not found:
            self.missing(f"API {name!r}", fix)
        if len(found) > 1:
            self.fail(
                f"expected one API called {name!r}, found {len(found)} ({', '.join(found)}): "
                "delete the extra ones, or run the lab's cleanup and start the step again"
            )
        return self._url_for(found[0], stage)

    def load_balancer_url(self, name: str, *, fix: str = "") -> str:
        """The URL of the application load balancer called `name` (its first listener), on either target."""
        with self.not_done_if_missing(f"load balancer {name!r}", fix):
            balancer = self.client("elbv2").describe_load_balancers(Names=[name])["LoadBalancers"][0]
        return self._url_for(balancer["LoadBalancerArn"])

    def _url_for(self, identifier: str, stage: str | None = None) -> str:
        from labkit import urls

        try:
            return urls.url_for(identifier, stage)
        except LabkitError as error:  # it exists, but does not serve yet: no stage, no listener
            self.not_done(str(error))

    def learner_function(self, name: str):
        """The learner's function (or class) `name`, which the notebook passes to its panel; what it raises
        is summarised in one line. In a terminal the check stops here, judged as it ended in the notebook:
        call it after everything a terminal can check."""
        function = self.learner_value(name)
        return lambda *args, **kwargs: learner_code.call(function, *args, **kwargs)

    def learner_value(self, name: str):
        """A value of the learner's notebook (a variable the panel is given), as it is."""
        if name in self.learner:
            return self.learner[name]
        if self.in_terminal:
            raise InTheNotebookOnly(name)
        self.not_done(f"pass {name} to the check: lab.panel(step, {name}={name})")

    def missing(self, what: str, fix: str = "") -> NoReturn:
        """Not done yet, in the course's one wording: "there is no SNS topic 'orders' yet: create it in step 1"."""
        self.not_done(f"there is no {what} yet" + (f": {fix}" if fix else ""))

    @contextlib.contextmanager
    def not_done_if_missing(self, what: str, fix: str = ""):
        """An AWS "not found" error inside the block says `missing(what, fix)`."""
        try:
            yield
        except Exception as error:
            if aws_error_code(error) not in NOT_FOUND_CODES:
                raise
            self.missing(what, fix)

    @staticmethod
    def not_done(message: str) -> NoReturn:
        raise NotDoneYet(message)

    @staticmethod
    def fail(message: str) -> NoReturn:
        raise Wrong(message)

    @classmethod
    def expect(cls, condition: bool, message: str) -> None:
        if not condition:
            cls.fail(message)
