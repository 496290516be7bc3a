"""Build (or Test) action, provider CodeBuild: a build of ProjectName whose source is the first input
artifact and whose artifact becomes the first output artifact; the action fails as the build fails,
with the phase and context CodePipeline quotes."""

import json
import time

from labkit.dataplane import codebuild
from labkit.dataplane.codepipeline.actions import ActionContext, ActionFailed, Outcome

POLL_S = 0.1


def run(context: ActionContext) -> Outcome:
    project = context.configuration.get("ProjectName")
    inputs = context.input_names
    outputs = context.output_names
    overrides = json.loads(context.configuration.get("EnvironmentVariables") or "[]")
    project_arn = f"arn:aws:codebuild:{context.region}:{context.account_id}:project/{project}"
    context.refuse_unless_allowed("codebuild:StartBuild", project_arn)
    try:
        build_id = codebuild.start_build(
            context.account_id,
            context.region,
            project,
            fetch_source=(lambda: context.store.read(inputs[0])) if inputs else (lambda: None),
            deliver_artifact=(lambda archive: _delivered(context, outputs[0], archive)) if outputs else None,
            initiator=f"codepipeline/{context.pipeline_name}",
            environment_variables=overrides,
        )
    except KeyError as missing:
        raise ActionFailed(f"Project cannot be found: {project}", code="ConfigurationError") from missing
    context.record.external_id = build_id
    while True:
        build = codebuild.build_record(context.account_id, context.region, build_id)
        if build["buildComplete"]:
            break
        time.sleep(POLL_S)
    if build["buildStatus"] != "SUCCEEDED":
        failed = next((p for p in build["phases"] if p.get("phaseStatus") not in (None, "SUCCEEDED")), {})
        context_ = (failed.get("contexts") or [{}])[0]
        raise ActionFailed(
            f"Build terminated with state: {build['buildStatus']}. Phase: {failed.get('phaseType', '')}, "
            f"Code: {context_.get('statusCode', '')}, Message: {context_.get('message', '')}"
        )
    return Outcome(external_id=build_id)


def _delivered(context: ActionContext, name: str, archive: bytes) -> dict:
    location = context.store.write(name, archive)
    return {"location": f"arn:aws:s3:::{location['bucket']}/{location['key']}"}
