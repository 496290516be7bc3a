"""What a check function receives: the target, boto3 clients, HTTP, and the learner's objects."""

import boto3
import requests

from labkit.checks import NotDoneYet, Wrong
from labkit.checks import learner as learner_code
from labkit.errors import LabkitError

HTTP_TIMEOUT_S = 10


class Context:
    def __init__(self, env, learner: dict):
        from labkit import course

        self.env = env or course.current() or course.start(quiet=True)
        self.learner = learner
        self._clients = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = boto3.client(service)
        return self._clients[service]

    def get(self, url: str, **kwargs) -> requests.Response:
        return requests.get(url, timeout=HTTP_TIMEOUT_S, **kwargs)

    def post(self, url: str, **kwargs) -> requests.Response:
        return requests.post(url, timeout=HTTP_TIMEOUT_S, **kwargs)

    def service_url(self, name: str) -> str:
        """The URL of a service the learner runs as a local process (labkit.localproc)."""
        from labkit import localproc

        process = localproc.find(name)
        if process is None:
            self.not_done(f"the {name} process is not running: run the step that starts it")
        return process.url

    def api_url(self, name: str, stage: str | None = None) -> str:
        """The invoke URL of the REST API or HTTP API called `name`, on either target."""
        from labkit import urls

        rest = [
            api["id"]
            for page in self.client("apigateway").get_paginator("get_rest_apis").paginate()
            for api in page["items"]
            if api["name"] == name
        ]
        http = [api["ApiId"] for api in self.client("apigatewayv2").get_apis()["Items"] if api["Name"] == name]
        found = rest + http
        if not found:
            self.not_done(f"there is no API called {name!r} yet: create it in the step that does")
        if len(found) > 1:
            raise Wrong(
                f"expected one API called {name!r}, found {len(found)} ({', '.join(found)}): "
                "delete the extra ones, or run the lab's cleanup and start the step again"
            )
        try:
            return urls.url_for(found[0], stage)
        except LabkitError as error:
            self.not_done(str(error))

    def learner_function(self, name: str):
        function = self.learner.get(name)
        if function is None:
            self.not_done(f"pass your function to the check: lab.panel(step, {name}={name})")
        return lambda *args, **kwargs: learner_code.call(function, *args, **kwargs)

    @staticmethod
    def not_done(message: str):
        raise NotDoneYet(message)

    @staticmethod
    def expect(condition: bool, message: str) -> None:
        if not condition:
            raise Wrong(message)
