"""CodePipeline on the local cloud: executions really run.

moto 5.2.5 records pipelines and marks each execution Succeeded the moment it starts, runs nothing, and
has no GetPipelineState, ListActionExecutions or PutApprovalResult. Here an execution (started by
CreatePipeline, as AWS starts one, or by StartPipelineExecution) runs in the background
(executions.py): stage after stage, actions by runOrder, each with the pipeline's role (or the action's
roleArn), its artifacts in the pipeline's S3 artifact store under the keys AWS uses (artifacts.py); a
failed action fails its stage and the execution, and the later stages do not run. States, history and
action executions are answered with AWS's statuses and shapes (answers.py).

Actions (actions.py holds the registry): Source S3 (source_s3.py), Build CodeBuild (build_codebuild.py),
Deploy CloudFormation (deploy_cloudformation.py), Approval Manual (approval.py). Another service adds an
action provider with register_action (the ECS deploy action is one). CodeCommit is closed to new
accounts and a CodeStarSourceConnection source (GitHub, GitLab, Bitbucket) needs a provider the local
cloud does not have: a pipeline with either fails its source action and says so.
"""

from labkit.dataplane.core import seams


def install() -> None:
    name = "codepipeline: executions run their stages and actions"
    seams.declare(name, "moto.codepipeline.responses", "labkit.dataplane.codepipeline.moto_patches:SEAMS")


def register_action(category: str, provider: str, run) -> None:
    """Adds an action provider (owner AWS): run(context) does the action; see actions.py."""
    from labkit.dataplane.codepipeline import actions

    actions.register(category, provider, run)


def reset() -> None:
    from labkit.dataplane.codepipeline import approval

    approval.reject_all_waiting()
