"""What a check function receives: the target, boto3 clients, HTTP, and the learner's objects."""
import boto3
import requests

from labkit.checks import NotDoneYet, Wrong
from labkit.checks import learner as learner_code

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
