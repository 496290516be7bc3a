"""Lab 09 · delivery: the catalog as a SAM template deployed through a change set; a pipeline that tests,
packages and deploys it; orders shipped as an ECS canary that an alarm rolls back."""

from labkit.checks import Lab

lab = Lab("09", "Delivery: CodePipeline, canary, rollback")
