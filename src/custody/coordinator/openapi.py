"""Print the coordinator's OpenAPI document (committed as docs/api/openapi.json)."""

import json

from custody.coordinator.app import api_app
from custody.coordinator.settings import CoordinatorSettings


def openapi_json() -> str:
    """The OpenAPI document as stable, indented JSON; needs no database or config."""
    app = api_app(CoordinatorSettings.model_fields["max_body_bytes"].default)
    return json.dumps(app.openapi(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(openapi_json(), end="")
