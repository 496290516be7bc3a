"""Where the codepipeline package changes moto 5.2.5. Imported only once moto.codepipeline.models is."""

from labkit.dataplane.codepipeline import (
    actions,
    answers,
    approval,
    build_codebuild,
    deploy_cloudformation,
    executions,
    polling,
    source_s3,
    trust,
)
from labkit.dataplane.core.seams import Seam

actions.register("Source", "S3", source_s3.run)
actions.register("Source", "CodeCommit", source_s3.unavailable("CodeCommit", "CodeCommit is closed to new accounts."))
actions.register(
    "Source",
    "CodeStarSourceConnection",
    source_s3.unavailable("CodeStarSourceConnection", "a CodeConnections connection needs a provider (GitHub...)."),
)
actions.register("Build", "CodeBuild", build_codebuild.run)
actions.register("Test", "CodeBuild", build_codebuild.run)
actions.register("Deploy", "CloudFormation", deploy_cloudformation.run)
actions.register("Approval", "Manual", approval.run)


def _executions_that_run(moto_start):
    def start_pipeline_execution(self, name, variables, trigger=None):
        execution_id = moto_start(self, name, variables)
        pipeline = self.pipelines[name]
        trigger = trigger or {"triggerType": "StartPipelineExecution", "triggerDetail": ""}
        executions.start(pipeline, pipeline.executions[execution_id], self.account_id, self.region_name, trigger)
        return execution_id

    return start_pipeline_execution


def _started_on_creation(moto_create):
    def create_pipeline(self, pipeline, tags):
        created = moto_create(self, pipeline, tags)
        polling.remember_current(self.pipelines[pipeline["name"]], self.account_id)
        polling.ensure_polling()
        trigger = {"triggerType": "CreatePipeline", "triggerDetail": ""}
        self.start_pipeline_execution(pipeline["name"], None, trigger)
        return created

    return create_pipeline


def _answered(answer):
    return lambda _absent: answer


SEAMS = (
    Seam("moto.codepipeline.models.CodePipelineBackend.iam_backend", replace=trust.evaluated_trust),
    Seam("moto.codepipeline.models.CodePipelineBackend.create_pipeline", contains=".get_role_by_arn("),
    Seam(
        "moto.codepipeline.models.CodePipelineBackend.start_pipeline_execution",
        ("self", "name", "variables"),
        replace=_executions_that_run,
    ),
    Seam(
        "moto.codepipeline.models.CodePipelineBackend.create_pipeline",
        ("self", "pipeline", "tags"),
        replace=_started_on_creation,
    ),
    Seam(
        "moto.codepipeline.models.PipelineExecution.to_dict",
        ("self",),
        replace=lambda moto: answers.with_run(moto, answers.add_to_execution),
    ),
    Seam(
        "moto.codepipeline.models.PipelineExecution.to_summary_dict",
        ("self",),
        replace=lambda moto: answers.with_run(moto, answers.add_to_summary),
    ),
    Seam(
        "moto.codepipeline.responses.CodePipelineResponse.get_pipeline_state",
        replace=_answered(answers.get_pipeline_state),
    ),
    Seam(
        "moto.codepipeline.responses.CodePipelineResponse.list_action_executions",
        replace=_answered(answers.list_action_executions),
    ),
    Seam(
        "moto.codepipeline.responses.CodePipelineResponse.put_approval_result",
        replace=_answered(answers.put_approval_result),
    ),
)
