"""`labkit`: the course's command line. Each command prints what happened; errors are one clear line."""

import argparse
import json
import sys
import time

from labkit.errors import LabkitError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description="The course's toolkit.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("up", help="start the local cloud, or attach to the running one")
    commands.add_parser("down", help="stop the local cloud (its resources are gone)")
    status = commands.add_parser("status", help="is the local cloud running, and where")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    commands.add_parser("reset", help="empty the local cloud: delete every resource on it")
    logs = commands.add_parser("logs", help="what the local cloud printed")
    logs.add_argument("-n", "--lines", type=int, default=40)
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    teardown = commands.add_parser(
        "teardown", help="delete every resource the course tagged (labkit:course), in dependency order"
    )
    teardown.add_argument("--target", choices=("local", "aws"), default="local")
    teardown.add_argument("--lab", help="only this lab's resources, e.g. 02")
    teardown.add_argument("--yes", action="store_true", help="do not ask before deleting")
    teardown.add_argument(
        "--all-owners",
        action="store_true",
        help="every learner's resources, not only yours (an instructor's shared account)",
    )
    check = commands.add_parser("check", help="run a lab's checks against the target")
    check.add_argument("lab", help="the lab's number, e.g. 02")
    check.add_argument("--step", type=int, help="only this step's checks")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    commands.add_parser("progress", help="which labs' checks you have passed")
    build = commands.add_parser("build-labs", help="generate labs/ from solutions/")
    build.add_argument("--check", action="store_true", help="only fail when labs/ is stale")
    drawings = commands.add_parser(
        "diagrams", help="draw the labs' target diagrams from diagrams/*.toml, or check them"
    )
    drawings.add_argument("action", choices=("render-all", "check"))
    url = commands.add_parser("url", help="the URL of an API (by id) or a load balancer (by ARN)")
    url.add_argument("resource", help="a REST API or HTTP API id, or a load balancer ARN")
    url.add_argument("--stage", help="the API's stage (a REST API needs one)")
    image = commands.add_parser("image", help="container images for ECS task definitions")
    image_commands = image.add_subparsers(dest="image_command", required=True, metavar="ACTION")
    image_build = image_commands.add_parser(
        "build", help="build a service folder (its Dockerfile) into an image recorded in ECR"
    )
    image_build.add_argument("folder", help="the service folder, e.g. services/orders")
    image_build.add_argument("--tag", required=True, help="repository[:tag], e.g. orders:1")
    image_build.add_argument("--context", help="the folder COPY paths are relative to (default: FOLDER)")
    image_build.add_argument(
        "--target", choices=("local", "aws"), help="where to record it (default: LABKIT_TARGET, else local)"
    )
    args = parser.parse_args(argv)
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
    results = lab.run(step=args.step)
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


def _diagrams(args) -> int:
    from labkit.diagrams.cli import main as diagrams_main

    return diagrams_main([args.action])


def _url(args) -> int:
    from labkit import course, urls

    course.start(quiet=True)
    print(urls.url_for(args.resource, args.stage))
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
    "teardown": _teardown,
    "check": _check,
    "progress": _progress,
    "build-labs": _build_labs,
    "diagrams": _diagrams,
    "url": _url,
    "image": _image,
}

if __name__ == "__main__":
    sys.exit(main())
