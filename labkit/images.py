"""Container images for a service folder, with or without Docker.

`labkit image build services/orders --tag orders:1` turns a folder with a Dockerfile into an image
that ECS task definitions can name (`orders:1` or `<account>.dkr.ecr.<region>.amazonaws.com/orders:1`).

On the local target there is no Docker: the Dockerfile is read instead of run. Its COPY and ADD
instructions lay the folder's files out in a root folder as the image would hold them, and its
WORKDIR, ENV, EXPOSE, ENTRYPOINT and CMD are kept in config.json beside it, under
`<state dir>/images/<repository>/sha256-<digest>/`. RUN instructions are not run: the task uses the
course's Python and its packages (config.json lists what was skipped). The image is recorded in the
local cloud's ECR (moto) with put_image, its digest being the sha256 of its manifest, which names
the artifact's content hash, so describe_images and list_images show it and the ECS data plane finds
the artifact by digest.

On the aws target the same call runs `docker build` and `docker push` where a Docker engine answers,
and otherwise says what is needed.
"""

import fnmatch
import hashlib
import json
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from labkit import config
from labkit.errors import LabkitError

MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# Left out of every local image: bytecode differs between runs and would change the digest.
ALWAYS_IGNORED = ("__pycache__", "*.pyc", ".git", ".venv")
DOCKER_TIMEOUT_S = 900


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str
    digest: str  # sha256:<hex>, as describe_images reports it
    uri: str  # <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>
    artifact: Path | None  # the local image's folder; None on the aws target

    def __str__(self) -> str:
        return f"{self.uri} ({self.digest})"


def build(folder: str | Path, tag: str, env=None, context: str | Path | None = None) -> Image:
    """Build the service in `folder` (its Dockerfile) as `repository[:tag]` and record it in ECR.

    A relative `folder` not found from here is taken from the course folder. `context` is the
    folder COPY sources are relative to (docker build's context): the service folder unless given.
    `env` is a labkit.course.Environment (course.start()'s); by default the current one, or the local
    target.
    """
    from labkit import course

    env = env or course.current() or course.start(quiet=True)
    folder = _service_folder(folder)
    dockerfile = folder / "Dockerfile"
    if not dockerfile.is_file():
        raise LabkitError(
            f"{folder} has no Dockerfile: an image is built from one (its CMD says how the service starts)."
        )
    repository, image_tag = split_tag(tag)
    context = _service_folder(context) if context is not None else folder
    if env.target == "aws":
        return _build_with_docker(dockerfile, context, repository, image_tag, env)
    return _build_locally(dockerfile, context, repository, image_tag, env)


def _service_folder(folder: str | Path) -> Path:
    # A notebook runs in solutions/ or labs/: "services/orders" means the course's folder there.
    folder = Path(folder)
    in_course = config.COURSE_ROOT / folder
    return in_course if not folder.exists() and in_course.exists() else folder


def split_tag(tag: str) -> tuple[str, str]:
    """ "orders:1" -> ("orders", "1"); a tag defaults to latest, as in Docker.

    Checked here, before any call, against ECR's rules (a repository name of 2 to 256 characters, an
    image tag of up to 128), so a wrong argument is one line naming it, not botocore's validation error."""
    if not isinstance(tag, str):
        raise LabkitError(f"tag={tag!r} is not an image name: a tag is the text repository:tag, e.g. 'orders:1'.")
    repository, _, image_tag = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "")
    if ":" in tag and not repository:
        problem = "names no repository before its colon"
    elif len(repository) < 2 and ":" not in tag:
        problem = "is a version without its repository"
    elif not re.fullmatch(r"[a-z0-9]+(?:[._/-][a-z0-9]+)*", repository) or not 2 <= len(repository) <= 256:
        problem = f"has the repository {repository!r}: use 2 to 256 lower-case letters, digits and . _ - /"
    elif image_tag and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", image_tag):
        problem = f"has the tag {image_tag!r}: use up to 128 letters, digits and _ . - after the colon"
    else:
        return repository, image_tag or "latest"
    raise LabkitError(
        f"tag={tag!r} {problem}: a tag is repository:tag, the repository, a colon, then the version, e.g. 'orders:1'."
    )


def parse_reference(image: str) -> tuple[str | None, str, str | None, str | None]:
    """An image as a task definition names it -> (registry, repository, tag, digest)."""
    rest, _, digest = image.partition("@")
    registry = None
    first, _, remainder = rest.partition("/")
    if remainder and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    tag = None
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, _, tag = rest.rpartition(":")
    return registry, rest, tag if tag or digest else "latest", digest or None


def registry_host(account_id: str, region: str) -> str:
    return f"{account_id}.dkr.ecr.{region}.amazonaws.com"


def artifact_dir(repository: str, digest: str) -> Path:
    return config.state_dir() / "images" / repository / digest.replace(":", "-")


def load_config(artifact: Path) -> dict:
    return json.loads((artifact / "config.json").read_text())


# --- the local target -------------------------------------------------------------------------


def _build_locally(dockerfile: Path, context: Path, repository: str, tag: str, env) -> Image:
    recipe = parse_dockerfile(dockerfile.read_text(), str(dockerfile))
    images_dir = config.state_dir() / "images" / repository
    images_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=images_dir))
    try:
        rootfs = staging / "rootfs"
        rootfs.mkdir()
        ignored = ALWAYS_IGNORED + _dockerignore(context)
        for source_patterns, destination, workdir in recipe.copies:
            _copy_into(rootfs, context, source_patterns, destination, workdir, ignored, dockerfile)
        image_config = recipe.config(dockerfile, context)
        config_bytes = json.dumps(image_config, indent=2, sort_keys=True).encode()
        (staging / "config.json").write_bytes(config_bytes)
        layer_digest, layer_size = _content_digest(rootfs)
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MANIFEST_MEDIA_TYPE,
                "config": {
                    "mediaType": CONFIG_MEDIA_TYPE,
                    "size": len(config_bytes),
                    "digest": "sha256:" + hashlib.sha256(config_bytes).hexdigest(),
                },
                "layers": [{"mediaType": LAYER_MEDIA_TYPE, "size": layer_size, "digest": layer_digest}],
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        artifact = artifact_dir(repository, digest)
        try:
            staging.rename(artifact)
        except OSError:  # the same content was built before: keep that copy
            if not (artifact / "config.json").is_file():
                raise
            shutil.rmtree(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _record_in_ecr(repository, tag, manifest, digest, env)
    return Image(repository, tag, digest, f"{registry_host(env.account_id, env.region)}/{repository}:{tag}", artifact)


def _record_in_ecr(repository: str, tag: str, manifest: str, digest: str, env) -> None:
    import boto3

    ecr = boto3.client("ecr", region_name=env.region)
    _ensure_repository(ecr, repository, env)
    try:
        ecr.put_image(
            repositoryName=repository,
            imageManifest=manifest,
            imageManifestMediaType=MANIFEST_MEDIA_TYPE,
            imageTag=tag,
            imageDigest=digest,
        )
    except ecr.exceptions.ImageAlreadyExistsException:
        pass  # this tag already names this very image


def _ensure_repository(ecr, repository: str, env) -> None:
    try:
        ecr.create_repository(repositoryName=repository, tags=env.tag_list())
    except ecr.exceptions.RepositoryAlreadyExistsException:
        arn = ecr.describe_repositories(repositoryNames=[repository])["repositories"][0]["repositoryArn"]
        ecr.tag_resource(resourceArn=arn, tags=env.tag_list())


@dataclass
class Recipe:
    """What a Dockerfile says, minus what only Docker can do."""

    base: str = ""
    workdir: str = "/"
    env: dict | None = None
    exposed_ports: list | None = None
    entrypoint: list | None = None
    cmd: list | None = None
    user: str | None = None
    copies: list | None = None  # (source patterns, destination, workdir at that point)
    not_run_locally: list | None = None

    def config(self, dockerfile: Path, context: Path) -> dict:
        return {
            "base": self.base,
            "workdir": self.workdir,
            "env": self.env,
            "exposedPorts": self.exposed_ports,
            "entrypoint": self.entrypoint or [],
            "cmd": self.cmd or [],
            "user": self.user,
            "notRunLocally": self.not_run_locally,
            "dockerfile": str(dockerfile),
            "context": str(context),
        }


def parse_dockerfile(text: str, name: str = "Dockerfile") -> Recipe:
    recipe = Recipe(env={}, exposed_ports=[], copies=[], not_run_locally=[])
    arguments: dict[str, str] = {}
    stages = 0

    def expand(value: str) -> str:
        return _substitute(value, {**arguments, **recipe.env})

    for instruction, argument in _instructions(text):
        if instruction == "FROM":
            stages += 1
            if stages > 1:
                raise LabkitError(
                    f"{name} is a multi-stage build (FROM twice): the local target "
                    f"reads one stage only. Use one FROM, or build on the aws target."
                )
            recipe.base = argument.split()[0]
        elif instruction == "ARG":
            key, _, default = argument.partition("=")
            arguments[key.strip()] = default.strip().strip('"')
        elif instruction == "ENV":
            recipe.env.update(_env_pairs(argument, expand))
        elif instruction == "WORKDIR":
            recipe.workdir = _posix_join(recipe.workdir, expand(argument.strip()))
        elif instruction in ("COPY", "ADD"):
            words = _copy_words(argument, name)
            if len(words) < 2:
                raise LabkitError(f"{name}: {instruction} {argument} needs a source and a destination.")
            if any("://" in word for word in words[:-1]):
                raise LabkitError(
                    f"{name}: ADD from a URL is not supported locally; download the "
                    f"file into the service folder and COPY it."
                )
            recipe.copies.append(([expand(w) for w in words[:-1]], expand(words[-1]), recipe.workdir))
        elif instruction == "EXPOSE":
            recipe.exposed_ports += [int(port.split("/")[0]) for port in expand(argument).split()]
        elif instruction in ("CMD", "ENTRYPOINT"):
            command = _command(argument)
            if instruction == "CMD":
                recipe.cmd = command
            else:
                recipe.entrypoint = command
        elif instruction == "USER":
            recipe.user = argument.strip()
        elif instruction == "RUN":
            recipe.not_run_locally.append(f"RUN {argument}")
    if not stages:
        raise LabkitError(f"{name} has no FROM line: it is not a Dockerfile.")
    if not recipe.cmd and not recipe.entrypoint:
        raise LabkitError(
            f"{name} has no CMD or ENTRYPOINT, so nothing says how the service "
            f'starts. Add one in exec form, e.g. CMD ["python", "-m", "app"].'
        )
    return recipe


def _instructions(text: str):
    """(INSTRUCTION, argument) per logical line: comments dropped, continuations joined."""
    logical = ""
    for line in text.splitlines() + [""]:
        stripped = line.strip()
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1] + " "
            continue
        logical = (logical + stripped).strip()
        if logical:
            instruction, _, argument = logical.partition(" ")
            yield instruction.upper(), argument.strip()
        logical = ""


def _command(argument: str) -> list[str]:
    """Exec form (a JSON array) as is; shell form the way Docker runs it, through /bin/sh -c."""
    if argument.startswith("["):
        try:
            command = json.loads(argument)
        except ValueError:
            raise LabkitError(
                f"cannot read {argument!r} as an exec-form command (a JSON array of strings, with double quotes)."
            ) from None
        if isinstance(command, list) and all(isinstance(word, str) for word in command):
            return command
    return ["/bin/sh", "-c", argument]


def _copy_words(argument: str, name: str) -> list[str]:
    words = json.loads(argument) if argument.startswith("[") else shlex.split(argument)
    flags = [w for w in words if w.startswith("--")]
    if any(flag.startswith("--from") for flag in flags):
        raise LabkitError(f"{name}: COPY --from (a multi-stage build) is not supported locally.")
    return [w for w in words if not w.startswith("--")]


def _env_pairs(argument: str, expand) -> dict[str, str]:
    words = shlex.split(argument)
    if words and "=" not in words[0]:  # the old form: ENV KEY value with spaces
        return {words[0]: expand(argument.split(None, 1)[1] if len(words) > 1 else "")}
    return {key: expand(value) for key, _, value in (w.partition("=") for w in words)}


def _substitute(text: str, variables: dict[str, str]) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        found = variables.get(name, "")
        return found if found or default is None else default

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", value, text)


def _posix_join(base: str, path: str) -> str:
    joined = path if path.startswith("/") else f"{base.rstrip('/')}/{path}"
    parts: list[str] = []
    for part in joined.split("/"):
        if part == "..":
            parts = parts[:-1]
        elif part and part != ".":
            parts.append(part)
    return "/" + "/".join(parts)


def _copy_into(
    rootfs: Path,
    context: Path,
    patterns: list[str],
    destination: str,
    workdir: str,
    ignored: tuple[str, ...],
    dockerfile: Path,
) -> None:
    sources: list[Path] = []
    for pattern in patterns:
        found = (
            sorted(context.glob(pattern.lstrip("/")))
            if any(c in pattern for c in "*?[")
            else [context / pattern.lstrip("/")]
        )
        found = [path for path in found if path.exists()]
        if not found:
            raise LabkitError(
                f"{dockerfile}: COPY {pattern} finds nothing in the build context "
                f"{context}. Is the context right? (The monolith's Dockerfile, for "
                f"one, copies from the course folder: pass context='.'.)"
            )
        for path in found:
            if context.resolve() not in (path.resolve(), *path.resolve().parents):
                raise LabkitError(f"{dockerfile}: COPY {pattern} reaches outside the build context {context}.")
        sources += found
    target = _posix_join(workdir, destination)
    into_directory = destination.endswith("/") or len(sources) > 1 or sources[0].is_dir()
    for source in sources:
        place = rootfs / target.lstrip("/")
        if source.is_dir():
            _copy_tree(source, place, context, ignored)
        else:
            if into_directory:
                place = place / source.name
            place.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, place)


def _copy_tree(source: Path, place: Path, context: Path, ignored: tuple[str, ...]) -> None:
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(context).as_posix()
        if any(fnmatch.fnmatch(part, pattern) for part in relative.split("/") for pattern in ignored) or any(
            fnmatch.fnmatch(relative, pattern) for pattern in ignored
        ):
            continue
        destination = place / path.relative_to(source)
        if path.is_dir():
            destination.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, destination)
    place.mkdir(parents=True, exist_ok=True)


def _dockerignore(context: Path) -> tuple[str, ...]:
    try:
        lines = (context / ".dockerignore").read_text().splitlines()
    except OSError:
        return ()
    return tuple(line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith(("#", "!")))


def _content_digest(rootfs: Path) -> tuple[str, int]:
    """sha256 over every file's path, executable bit and bytes, in path order: the same folder
    always gives the same digest."""
    digest, size = hashlib.sha256(), 0
    for path in sorted(p for p in rootfs.rglob("*") if p.is_file()):
        data = path.read_bytes()
        size += len(data)
        executable = "x" if path.stat().st_mode & 0o111 else "-"
        digest.update(f"{path.relative_to(rootfs).as_posix()}\0{executable}\0{len(data)}\0".encode())
        digest.update(data)
    return "sha256:" + digest.hexdigest(), size


# --- the aws target ---------------------------------------------------------------------------


def _build_with_docker(dockerfile: Path, context: Path, repository: str, tag: str, env) -> Image:
    import base64

    import boto3

    _require_docker()
    ecr = boto3.client("ecr", region_name=env.region)
    _ensure_repository(ecr, repository, env)
    uri = f"{registry_host(env.account_id, env.region)}/{repository}:{tag}"
    token = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    _docker(["login", "--username", user, "--password-stdin", token["proxyEndpoint"]], password)
    _docker(["build", "--platform", "linux/amd64", "-f", str(dockerfile), "-t", uri, str(context)])
    _docker(["push", uri])
    described = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
    return Image(repository, tag, described["imageDetails"][0]["imageDigest"], uri, None)


def _require_docker() -> None:
    how = (
        "The aws target needs Docker to build the image and push it to ECR. Install Docker "
        "Engine (https://docs.docker.com/engine/install/) or Docker Desktop, start it, check "
        "that `docker info` answers, and run this again. The local target needs no Docker."
    )
    if shutil.which("docker") is None:
        raise LabkitError(f"there is no `docker` command on this machine. {how}")
    try:
        answered = subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        answered = False
    if not answered:
        raise LabkitError(f"`docker info` got no answer from a Docker engine. {how}")


def _docker(arguments: list[str], stdin: str | None = None) -> None:
    result = subprocess.run(
        ["docker", *arguments], input=stdin, text=True, capture_output=True, timeout=DOCKER_TIMEOUT_S
    )
    if result.returncode != 0:
        shown = " ".join(a for a in arguments[:2])
        raise LabkitError(
            f"`docker {shown} ...` failed (exit {result.returncode}):\n"
            f"{(result.stderr or result.stdout).strip()[-2000:]}"
        )
