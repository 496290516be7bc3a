"""UpdateResourceServer as AWS answers it (moto 5.2.5 has no such call): the resource server's name and
scopes replaced by the request's (scopes left out are removed), ResourceNotFoundException for one that does not
exist. A lab run twice, or corrected, brings its resource server to its current scopes with it; the token
endpoint (oauth2.py) then grants only the scopes the server has now."""

from labkit.dataplane.core.seams import Seam


def _update_resource_server(_absent):
    def update_resource_server(self):
        from moto.core.responses import ActionResult

        server = self.backend.describe_resource_server(self._get_param("UserPoolId"), self._get_param("Identifier"))
        server.name = self._get_param("Name")
        server.scopes = self._get_param("Scopes") or []
        return ActionResult({"ResourceServer": server.to_json()})

    return update_resource_server


SEAMS = (
    Seam("moto.cognitoidp.models.CognitoIdpBackend.describe_resource_server", ("self", "user_pool_id", "identifier")),
    Seam("moto.cognitoidp.responses.CognitoIdpResponse.update_resource_server", replace=_update_resource_server),
)
