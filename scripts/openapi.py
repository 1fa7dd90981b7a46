"""Print the API's OpenAPI schema as JSON, from the app itself: no server, chain or database.

`python -m scripts.openapi > schema.json`; `make typecheck` turns it into the frontend's types.
"""

import json
import sys

from backend.config import Settings
from backend.main import create_app


def main() -> None:
    # The schema depends on the routes alone: default settings, no lifespan, nothing started.
    schema = create_app(Settings()).openapi()
    json.dump(schema, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
