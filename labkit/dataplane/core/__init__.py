"""What every service of the data plane shares, so that a new service copies no other service:

- seams.py: the one registry of every place the data plane changes moto, verified at start-up;
- state.py: runtime state kept about moto's objects (a task's processes, a group's targets);
- clock.py: how time passes locally (one AWS minute in one local second);
- http.py: what an HTTP server or proxy of the data plane does alike (hop-by-hop headers, TCP_NODELAY);
- functions.py: the one way a service invokes a Lambda function, synchronously or as an event;
- arns.py: reading an ARN, and a function's name, version or alias from what callers pass.
A service uses another service only through that service's small public functions.
"""
