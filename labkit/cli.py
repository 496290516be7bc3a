"""`labkit`: the course's command line. Each command prints what happened; errors are one clear line."""

import argparse
import json
import sys
import time

from labkit.course import TARGETS
from labkit.errors import LabkitError

TARGET_HELP = (
    "where to {verb}: local (the local cloud) or aws (the account you confirm with LABKIT_AWS_CONFIRM); "
    "default: LABKIT_TARGET, else local"
)
JSON_HELP = "machine-readable output"
LAB_HELP = "only this lab's resources, e.g. 02"


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LabkitError as error:
        print(f"labkit {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `labkit ... | head`
        sys.stderr.close()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labkit",
        description="The course's toolkit: the local cloud, what you deployed on it or on AWS, and the labs.",
        epilog="`labkit COMMAND --help` says more about a command.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_local_cloud_commands(commands)
    _add_deployment_commands(commands)
    _add_lab_commands(commands)
    return parser


def _command(commands, name: str, summary: str, details: str = "") -> argparse.ArgumentParser:
    """A subcommand whose summary shows in `labkit --help` and heads its own `--help`."""
    description = f"{summary[0].upper()}{summary[1:]}." + (f" {details}" if details else "")
    return commands.add_parser(name, help=summary, description=description)


def _add_local_cloud_commands(commands) -> None:
    _command(commands, "up", "start the local cloud, or attach to the running one")
    _command(commands, "down", "stop the local cloud (its resources are gone)")
    status = _command(commands, "status", "is the local cloud running, and where")
    status.add_argument("--json", action="store_true", help=JSON_HELP)
    _command(commands, "reset", "empty the local cloud: delete every resource on it")
    logs = _command(commands, "logs", "what the local cloud printed")
    logs.add_argument("-n", "--lines", type=int, default=40, help="how many of the last lines (default: 40)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")


def _add_deployment_commands(commands) -> None:
    ls = _command(
        commands,
        "ls",
        "what you have deployed on the target, kind by kind, with the URLs to call it by",
        "It lists what `labkit teardown` would delete: the course's tagged resources that are yours.",
    )
    ls.add_argument("--lab", help=LAB_HELP)
    ls.add_argument("--target", choices=TARGETS, help=TARGET_HELP.format(verb="look"))
    ls.add_argument("--json", action="store_true", help=JSON_HELP)
    url = _command(
        commands,
        "url",
        "the URLs of an API (by id) or a load balancer (by ARN)",
        "One URL prints alone; several print one a line, after the API's stage or the load "
        "balancer's listener (PROTOCOL:PORT) they belong to.",
    )
    url.add_argument("resource", help="a REST API or HTTP API id, or a load balancer ARN")
    url.add_argument("--stage", help="only this stage of the API, e.g. prod")
    url.add_argument("--json", action="store_true", help="machine-readable output: {stage or listener: URL}")
    url.add_argument(
        "--direct",
        action="store_true",
        help="on a hub: the URL on the hub machine's 127.0.0.1 (for code and curl), not the one for your browser",
    )
    teardown = _command(
        commands, "teardown", "delete every resource the course tagged (labkit:course), in dependency order"
    )
    teardown.add_argument(
        "--target",
        choices=TARGETS,
        default="local",
        help="where to delete: local (the local cloud, the default) or aws (the account you confirm)",
    )
    teardown.add_argument("--lab", help=LAB_HELP)
    teardown.add_argument("--yes", action="store_true", help="do not ask before deleting")
    teardown.add_argument(
        "--all-owners",
        action="store_true",
        help="every learner's resources, not only yours (an instructor's shared account)",
    )
    image = _command(commands, "image", "container images for ECS task definitions")
    image_commands = image.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    image_build = _command(
        image_commands, "build", "build a service folder (its Dockerfile) into an image recorded in ECR"
    )
    image_build.add_argument("folder", help="the service folder, e.g. services/orders")
    image_build.add_argument("--tag", required=True, help="repository[:tag], e.g. orders:1")
    image_build.add_argument("--context", help="the folder COPY paths are relative to (default: FOLDER)")
    image_build.add_argument("--target", choices=TARGETS, help=TARGET_HELP.format(verb="record it"))


def _add_lab_commands(commands) -> None:
    check = _command(commands, "check", "run a lab's checks against the target")
    check.add_argument("lab", help="the lab's number, e.g. 02")
    check.add_argument("--step", type=int, help="only this step's checks")
    check.add_argument("--json", action="store_true", help=JSON_HELP)
    _command(commands, "progress", "which labs' checks you have passed")
    forward = _command(
        commands,
        "fast-forward",
        "deploy on the local cloud what a lab needs from the labs before it, from their solutions",
        "For a learner who joins late or lost their local cloud. It says, one line per earlier lab, what it "
        "deployed, records the labs it skipped as fast-forwarded (not passed), then lists what is deployed. "
        "Running it twice is fine.",
    )
    forward.add_argument("lab", help="the lab to start, e.g. 04")
    dashboard = _command(
        commands,
        "dashboard",
        "serve an instructor's live page of every learner's progress, per lab and per check",
        "It reads each learner's progress files (progress.json in their state folder) anew every second: "
        "no learner's server needs to be reachable.",
    )
    dashboard.add_argument(
        "--learners", nargs="+", default=[], metavar="DIR", help="learners' state folders, or folders holding .labkit/"
    )
    dashboard.add_argument(
        "--homes",
        nargs="+",
        default=[],
        metavar="PARENT",
        help="folders whose every subfolder is a learner's (a hub's homes)",
    )
    dashboard.add_argument("--port", type=int, default=0, help="the port on 127.0.0.1 (default: a free one)")
    _command(
        commands,
        "hub",
        "run JupyterHub for a room on one machine: each learner with their own notebooks and local cloud",
        "Set LABKIT_HUB_PASSWORD (the room's shared password, 8 characters or more); optionally LABKIT_HUB_PORT "
        "(default 8000), LABKIT_HUB_IP (default 127.0.0.1; 0.0.0.0 serves the room), LABKIT_HUB_USERS (names "
        "allowed, comma-separated; default: anyone with the password) "
        "and LABKIT_HUB_DIR (the hub's files and the learners' homes; default .labkit-hub in the course).",
    )
    build = _command(commands, "build-labs", "generate labs/ from solutions/")
    build.add_argument("--check", action="store_true", help="only fail when labs/ is stale")
    lint = _command(
        commands,
        "lint-notebooks",
        "check notebooks against the course's standard (AUTHORING.md)",
        "Prints one line per missing part, naming the notebook; exits 1 if there is any.",
    )
    lint.add_argument("notebooks", nargs="*", help="the notebooks to check (default: every notebook of the course)")
    drawings = _command(commands, "diagrams", "draw the labs' target diagrams from diagrams/*.toml, or check them")
    drawings.add_argument(
        "action",
        choices=("render-all", "check"),
        help="render-all: draw every diagram; check: fail when a committed drawing is stale",
    )


def _up(args) -> int:
    from labkit.localcloud import control

    info, happened = control.up()
    print(f"{happened}: {info['endpoint']} (region {info['region']}, pid {info['pid']})")
    return 0


def _down(args) -> int:
    from labkit.localcloud import control

    print(control.down())
    return 0


def _status(args) -> int:
    from labkit.localcloud import control

    current = control.status()
    if args.json:
        print(json.dumps(current, indent=2, sort_keys=True))
    elif current["running"]:
        uptime = time.time() - current["started_at"]
        print(
            f"running: {current['endpoint']} (target local, region {current['region']}, "
            f"pid {current['pid']}, up {uptime:.0f} s)"
        )
        for failed in (current.get("data_plane") or {}).get("failed", []):
            print(
                f"degraded: {failed['seam']} is not applied, because moto changed: {failed['problem']}. "
                f"The local cloud serves without it; labkit/dataplane/README.md says how to fix a seam."
            )
    else:
        print(f"not running: {current['problem']}. `labkit up` starts it.")
    return 0 if current["running"] else 3


def _reset(args) -> int:
    from labkit.localcloud import control

    print(control.reset())
    return 0


def _logs(args) -> int:
    from labkit.localcloud import control

    path = control.logfile_path()
    if not path.exists():
        print(f"no log yet ({path} does not exist): the local cloud has never started here")
        return 0
    print(control.log_tail(args.lines))
    if args.follow:
        with open(path) as handle:
            handle.seek(0, 2)
            while True:
                line = handle.readline()
                if line:
                    print(line, end="", flush=True)
                else:
                    time.sleep(0.2)
    return 0


def _teardown(args) -> int:
    from labkit import teardown

    return teardown.run_cli(target=args.target, lab=args.lab, assume_yes=args.yes, all_owners=args.all_owners)


def _check(args) -> int:
    from labkit import checks, course, labs

    lab = labs.require(args.lab)
    course.start(quiet=True, lab=lab.id)
    results = lab.run(step=args.step, in_terminal=True)
    if args.json:
        print(checks.as_json(results))
    else:
        print(checks.as_text(results, lab.heading(args.step)))
        for result in results:
            if not result.passed and result.hints:
                print(f"  hint for '{result.title}': {result.hints[0]}")
    return 0 if results and all(r.passed for r in results) else 1


def _progress(args) -> int:
    from labkit import progress

    print(progress.as_text(progress.summary()))
    return 0


def _fast_forward(args) -> int:
    from labkit import fastforward, listing

    fastforward.fast_forward(args.lab)
    print(listing.ls(target="local").as_text())
    return 0


def _dashboard(args) -> int:
    from pathlib import Path

    from labkit.dashboard import learners, server

    sources = learners.check_given([Path(f) for f in args.learners], [Path(f) for f in args.homes])
    server.serve(sources, args.port, say=lambda line: print(line, flush=True))
    return 0


def _hub(args) -> int:
    from labkit.hub import run

    return run.run(say=lambda line: print(line, flush=True))


def _build_labs(args) -> int:
    from labkit import labbuild

    if args.check:
        problems = labbuild.build(check=True)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("run `labkit build-labs` and commit labs/", file=sys.stderr)
        return 1 if problems else 0
    written = labbuild.build()
    print("\n".join(f"wrote labs/{name}" for name in written) or "labs/ is up to date")
    return 0


def _lint_notebooks(args) -> int:
    from pathlib import Path

    from labkit import standard

    paths = [Path(name) for name in args.notebooks] or standard.course_notebooks()
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise LabkitError(f"no such notebook: {', '.join(missing)}")
    found = [problem for path in paths for problem in standard.problems(path)]
    print("\n".join(found) if found else f"{len(paths)} notebooks meet the standard")
    return 1 if found else 0


def _diagrams(args) -> int:
    from labkit.diagrams.cli import main as diagrams_main

    return diagrams_main([args.action])


def _ls(args) -> int:
    from labkit import listing

    found = listing.ls(lab=args.lab, target=args.target)
    print(found.as_json() if args.json else found.as_text())
    return 0


def _url(args) -> int:
    from labkit import course, urls

    course.start(quiet=True)
    found = urls.urls_for(args.resource, args.stage)
    if not args.direct:
        from labkit.hub.proxied import through_the_hub

        found = {name: through_the_hub(address) for name, address in found.items()}
    if args.json:
        print(json.dumps(found, indent=2))
    elif len(found) == 1:
        print(*found.values())
    else:
        width = max(len(name) for name in found)
        print("\n".join(f"{name:<{width}}  {address}" for name, address in found.items()))
    return 0


def _image(args) -> int:
    from labkit import course, images

    env = course.start(target=args.target, quiet=True)
    print(f"built {images.build(args.folder, args.tag, env=env, context=args.context)}")
    return 0


COMMANDS = {
    "up": _up,
    "down": _down,
    "status": _status,
    "reset": _reset,
    "logs": _logs,
    "ls": _ls,
    "teardown": _teardown,
    "check": _check,
    "progress": _progress,
    "fast-forward": _fast_forward,
    "dashboard": _dashboard,
    "hub": _hub,
    "build-labs": _build_labs,
    "lint-notebooks": _lint_notebooks,
    "diagrams": _diagrams,
    "url": _url,
    "image": _image,
}

if __name__ == "__main__":
    sys.exit(main())
