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
        "teardown", help="delete every resource the course tagged (labkit:course), in dependency order")
    teardown.add_argument("--target", choices=("local", "aws"), default="local")
    teardown.add_argument("--lab", help="only this lab's resources, e.g. 02")
    teardown.add_argument("--yes", action="store_true", help="do not ask before deleting")
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except LabkitError as error:
        print(f"labkit {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


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
        print(f"running: {current['endpoint']} (target local, region {current['region']}, "
              f"pid {current['pid']}, up {uptime:.0f} s)")
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
    return teardown.run_cli(target=args.target, lab=args.lab, assume_yes=args.yes)


COMMANDS = {"up": _up, "down": _down, "status": _status, "reset": _reset, "logs": _logs,
            "teardown": _teardown}

if __name__ == "__main__":
    sys.exit(main())
