"""An update in dependency order where moto's is not: moto makes a stack's added resources before it
updates its modified ones, so a new AWS::Lambda::Version (SAM names one anew for each change of code)
was published from the function's old code, and the alias kept serving it. Here, before an added
resource is made, the modified resources it refers to are updated first, as CloudFormation orders
them."""

import re

from labkit.dataplane.core import state

_SUB_NAMES = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node) -> set[str]:
    """The logical ids a resource's JSON refers to: Ref, Fn::GetAtt, Fn::Sub's ${X} and DependsOn."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found.update(_SUB_NAMES.findall(text if isinstance(text, str) else ""))
                found |= references(value[1] if isinstance(value, list) and len(value) > 1 else None)
            elif key == "DependsOn":
                found.update([value] if isinstance(value, str) else value)
            else:
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def tracking_modifications(moto_update):
    """ResourceMap.update, remembering which resources this update modifies."""

    def update(resources_map, template, parameters=None):
        modified = set(resources_map.build_resource_diff(template, parameters)["Modify"])
        state.put(resources_map, "modified by this update", modified)
        try:
            return moto_update(resources_map, template, parameters)
        finally:
            state.pop(resources_map, "modified by this update")

    return update


def update_what_it_refers_to(resources_map, resource_json: dict, update_resource) -> None:
    """Before an added resource is made: update first the modified resources it refers to."""
    pending = state.get(resources_map, "modified by this update")
    if not pending:
        return
    for name in sorted(references(resource_json) & pending):
        pending.discard(name)
        new_json = resources_map._resource_json_map[name]
        update_what_it_refers_to(resources_map, new_json, update_resource)
        updated = update_resource(name, new_json)
        if updated is not None:
            resources_map._parsed_resources[name] = updated
