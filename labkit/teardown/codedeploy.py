"""CodeDeploy deployment groups, then their applications (deleting an application deletes the groups
it still has, so a group tagged for another lab goes with its application only when that is tagged too)."""

from labkit.inventory import codedeploy
from labkit.teardown.base import Deletion

DELETIONS = (
    Deletion(
        codedeploy.DEPLOYMENT_GROUP,
        lambda client, group: client.delete_deployment_group(
            applicationName=group.details["applicationName"], deploymentGroupName=group.id
        ),
    ),
    Deletion(
        codedeploy.APPLICATION, lambda client, application: client.delete_application(applicationName=application.id)
    ),
)
