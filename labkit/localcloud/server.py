"""The local cloud process: moto in-process plus the data plane, on one 127.0.0.1 port.

Started by `labkit up` (labkit.localcloud.control) as `python -m labkit.localcloud.server`; its
stdout and stderr are the log file. It writes the pidfile once it listens and removes it on exit.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time

EXIT_PORT_TAKEN = 3

# Services the course uses, loaded after start-up so a learner's first call to each is not slow.
WARM_SERVICES = (
    "sts",
    "iam",
    "sqs",
    "sns",
    "awslambda",
    "dynamodb",
    "apigateway",
    "apigatewayv2",
    "logs",
    "ecs",
    "elbv2",
    "ec2",
    "cognitoidp",
    "kms",
    "secretsmanager",
    "events",
    "servicediscovery",
    "ssm",
    "s3",
    "resourcegroupstaggingapi",
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="labkit.localcloud.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--pidfile", required=True)
    args = parser.parse_args(argv)

    from moto import __version__ as moto_version
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from labkit import config, dataplane
    from labkit.files import write_atomically
    from labkit.localcloud.request_handler import LocalCloudRequestHandler

    moto_app = DomainDispatcherApplication(create_backend_app)
    info = {
        "pid": os.getpid(),
        "port": args.port,
        "endpoint": f"http://127.0.0.1:{args.port}",
        "region": args.region,
        "target": "local",
        "course_root": str(config.COURSE_ROOT),
        "started_at": time.time(),
        "moto_version": moto_version,
    }
    app = _control_routes(_explain_failures(dataplane.install(moto_app), moto_version), info, dataplane.reset)

    try:
        server = make_server("127.0.0.1", args.port, app, threaded=True, request_handler=LocalCloudRequestHandler)
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{args.port}: {error.strerror}", flush=True)
        return EXIT_PORT_TAKEN

    write_atomically(args.pidfile, json.dumps(info).encode())
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    threading.Thread(target=_warm_up, args=(moto_app, create_backend_app), daemon=True).start()
    print(f"local cloud listening on {info['endpoint']} (pid {info['pid']}, moto {moto_version})", flush=True)
    try:
        server.serve_forever()
    finally:
        _remove_if_ours(args.pidfile)
        print("local cloud stopped", flush=True)
    return 0


def _control_routes(app, info, reset_data_plane):
    """/_labkit/health answers who this is; /_labkit/reset empties moto and the data plane."""
    from moto.moto_api._internal import moto_api_backend

    from labkit.dataplane.core import seams

    def reset_everything():
        moto_api_backend.reset()
        reset_data_plane()

    def wsgi(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/_labkit/health":
            return _json(start_response, {**info, "data_plane": seams.report()})
        if path == "/_labkit/reset" and environ.get("REQUEST_METHOD") == "POST":
            reset_everything()
            return _json(start_response, {"reset": True})
        return app(environ, start_response)

    return wsgi


def _explain_failures(app, moto_version):
    """Turn moto's bare HTML 500 into an AWS-shaped error that botocore shows as a clear message."""
    import traceback

    def wsgi(environ, start_response):
        try:
            return app(environ, start_response)
        except NotImplementedError as error:
            status, code = "501 Not Implemented", "NotImplemented"
            message = (
                f"the local cloud (moto {moto_version}) does not implement this call "
                f"({error}). It works on a real AWS account (the aws target)."
            )
        except Exception as error:  # a moto bug must reach the learner as a message, not HTML
            traceback.print_exc()
            status, code = "500 Internal Server Error", "InternalFailure"
            message = (
                f"the local cloud failed on this call ({type(error).__name__}: {error}); "
                f"`labkit logs` shows the details."
            )
        print(f"{code}: {message}", flush=True)
        # botocore reads XML errors for the query protocol (form-encoded bodies), JSON otherwise.
        if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{_xml_escape(message)}</Message></Error></ErrorResponse>"
            ).encode()
            content_type = "text/xml"
        else:
            body = json.dumps({"__type": code, "message": message}).encode()
            content_type = "application/x-amz-json-1.1"
        start_response(
            status, [("Content-Type", content_type), ("x-amzn-ErrorType", code), ("Content-Length", str(len(body)))]
        )
        return [body]

    return wsgi


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _json(start_response, payload):
    body = json.dumps(payload).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _warm_up(dispatcher, create_backend_app) -> None:
    """Load the services the course uses, then verify every seam of the data plane (labkit status
    shows one that no longer fits moto)."""
    from labkit.dataplane.core import seams

    # Under the dispatcher's lock, where moto creates a service's app on its first request: moto's
    # modules import each other, and two threads importing them at once can deadlock in the import
    # system ("partially initialized module").
    for service in WARM_SERVICES:
        with dispatcher.lock:
            if service in dispatcher.app_instances:
                continue
            try:
                dispatcher.app_instances[service] = create_backend_app(service)
            except Exception as error:  # a service moto cannot load must not stop the cloud
                print(f"warm-up of {service} failed: {error!r}", flush=True)
    with dispatcher.lock:
        seams.verify_all()


def _remove_if_ours(pidfile: str) -> None:
    try:
        with open(pidfile) as handle:
            if json.load(handle).get("pid") == os.getpid():
                os.remove(pidfile)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
