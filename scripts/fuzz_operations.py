"""The operations of the served schema that a token's role may call: one request each, with path
parameters that name no record and an empty body; an answer other than `403 permission_denied`
means the role holds the action. scripts/fuzz.sh fuzzes each role on these only, since
tests/test_routes.py already holds every other operation to its 403.

    python scripts/fuzz_operations.py BASE_URL [TOKEN [PATH_REGEX]]   → one operationId a line

PATH_REGEX (scripts/fuzz.sh's FUZZ_PATHS) keeps only the operations whose path it matches: the ids
given to schemathesis would otherwise add every other operation back beside its path filter.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.request

METHODS = {"get", "post", "put", "patch", "delete"}


def answer(url: str, method: str, token: str) -> tuple[int, str]:
    body = b"{}" if method != "GET" else None
    request = urllib.request.Request(url, data=body, method=method)  # noqa: S310 (the local server)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310
            return response.status, ""
    except urllib.error.HTTPError as error:
        try:
            code = json.loads(error.read() or b"{}").get("code", "")
        except ValueError:
            code = ""
        return error.code, code


def main(base: str, token: str = "", paths: str = "") -> None:
    with urllib.request.urlopen(f"{base}/api/schema/?format=json") as response:  # noqa: S310
        schema = json.load(response)
    for path, item in schema["paths"].items():
        if paths and not re.search(paths, path):
            continue
        url = base + re.sub(r"\{\w+\}", "0", path)
        for method, operation in item.items():
            if method in METHODS and answer(url, method.upper(), token) != (403, "permission_denied"):
                print(operation["operationId"])


if __name__ == "__main__":
    main(*sys.argv[1:])
