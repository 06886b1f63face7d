#!/usr/bin/env python3
"""Check recorded HTTP responses against an OpenAPI 3.1 document.

usage: check-openapi.py OPENAPI.yaml RESPONSES.json

RESPONSES.json is a list of {"method", "path" (with query), "status",
"content_type", "body"} objects, recorded from a live server by the
integration tests. Fails (exit 1, one line per problem) when:
- the document holds a null (an unquoted comma in a flow mapping: its
  structure is openapi-spec-validator's to check, in scripts/check-deploy.sh);
- a response's path, method or status is not documented, its content type
  differs, or its body does not validate against the documented schema;
- a successful request used a query parameter the document does not list, or
  a value outside the parameter's schema;
- a documented (path, method, status) was never observed, so the document
  claims something no test has shown.
Needs python3-yaml and python3-jsonschema (Debian packages).
"""
import json
import re
import sys
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import yaml


def fail(problems):
    for p in problems:
        print("openapi: " + p, file=sys.stderr)
    sys.exit(1)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError(ref)
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def nulls(node, where="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from nulls(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from nulls(v, f"{where}/{i}")
    elif node is None:
        yield where


def coerce(value, schema):
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            return {"true": True, "false": False}[value]
    except (ValueError, KeyError):
        return value
    return value


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        doc = yaml.safe_load(f)
    with open(sys.argv[2]) as f:
        responses = json.load(f)

    # The document's structure (3.1, every $ref resolving, schemas valid JSON Schema) is
    # openapi-spec-validator's to check (scripts/check-deploy.sh); here, what it lets pass:
    # a null anywhere is an unquoted comma in a flow mapping ({description: a, b} makes "b" a key).
    problems = [f"{where}: null (quote a value that holds a comma)" for where in nulls(doc)]
    if problems:
        fail(problems)

    resolver = jsonschema.RefResolver.from_schema(doc)
    templates = []
    for template in doc["paths"]:
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        templates.append((re.compile(pattern), template))

    expected = set()
    for template, item in doc["paths"].items():
        for method, op in item.items():
            for status in op.get("responses", {}):
                expected.add((template, method.upper(), str(status)))

    seen = set()
    for r in responses:
        url = urlsplit(r["path"])
        where = f'{r["method"]} {r["path"]} -> {r["status"]}'
        template = next((t for p, t in templates if p.match(url.path)), None)
        if template is None:
            problems.append(f"{where}: path not documented")
            continue
        op = doc["paths"][template].get(r["method"].lower())
        if op is None:
            problems.append(f"{where}: method not documented")
            continue
        status = str(r["status"])
        documented = op.get("responses", {})
        response = documented.get(status) or documented.get("default")
        if response is None:
            problems.append(f"{where}: status not documented (documented: {', '.join(documented)})")
            continue
        seen.add((template, r["method"].upper(), status))
        response = deref(doc, response)
        content = response.get("content", {})
        ctype = (r.get("content_type") or "").split(";")[0].strip()
        if ctype not in content:
            problems.append(f"{where}: content type '{ctype}' not documented ({', '.join(content) or 'none'})")
            continue
        schema = content[ctype].get("schema")
        if schema is not None:
            try:
                body = json.loads(r["body"])
            except ValueError:
                problems.append(f"{where}: body is not JSON")
                continue
            validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
            for error in sorted(validator.iter_errors(body), key=lambda e: list(e.path)):
                at = "/".join(str(p) for p in error.path) or "(body)"
                problems.append(f"{where}: {at}: {error.message}")
        if 200 <= r["status"] < 300:
            params = {}
            for p in op.get("parameters", []):
                p = deref(doc, p)
                if p.get("in") == "query":
                    params[p["name"]] = deref(doc, p.get("schema", {}))
            for name, value in parse_qsl(url.query, keep_blank_values=True):
                if name not in params:
                    problems.append(f"{where}: succeeded with undocumented query parameter '{name}'")
                    continue
                validator = jsonschema.Draft202012Validator(params[name], resolver=resolver)
                for error in validator.iter_errors(coerce(value, params[name])):
                    problems.append(f"{where}: parameter {name}={value!r}: {error.message}")

    for template, method, status in sorted(expected - seen):
        problems.append(f"{method} {template} -> {status} is documented but no recorded response shows it")
    if problems:
        fail(problems)
    print(f"openapi: {len(responses)} responses valid; all {len(expected)} documented (operation, status) pairs observed")


if __name__ == "__main__":
    main()
