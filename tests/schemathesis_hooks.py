"""Schemathesis hooks for test_api_fuzz.py: what the notes route requires beyond its schema.

JSON Schema cannot say that t1 is not before t0, that a verdict needs a target, that only
`relabel` and `reassign` take a label, that `swap_roles` takes neither target nor label, or
that an author of only spaces is blank (the spec's description of NoteIn says so in words).
Cases generated as valid are made to follow those rules, so that a refusal of one of them is a
real finding; cases generated as invalid are left as they are.

And the run must not revoke the token it runs with (`FUZZ_TOKEN_ID`): `GET /api/tokens` lists
it, and the stateful phase would feed its id to `DELETE /api/tokens/{token_id}`.
"""

from __future__ import annotations

import os

import schemathesis


@schemathesis.hook
def filter_case(context, case):  # type: ignore[no-untyped-def]
    return not (case.method == "DELETE" and (case.path_parameters or {}).get("token_id") == os.environ["FUZZ_TOKEN_ID"])


@schemathesis.hook
def map_case(context, case):  # type: ignore[no-untyped-def]
    body = case.body
    if not (case.operation.path.endswith("/notes") and isinstance(body, dict) and case.meta is not None):
        return case
    if not case.meta.generation.mode.is_positive:
        return case
    if not str(body.get("author", "x")).strip():
        body["author"] = "A"
    if isinstance(body.get("t1"), float | int) and body["t1"] < body["t0"]:
        body["t0"], body["t1"] = body["t1"], body["t0"]
    verdict = body.get("verdict")
    if verdict == "swap_roles":  # the whole encounter: no target, no label
        body.pop("target", None)
        body.pop("label", None)
        return case
    if verdict is not None and body.get("target") is None:
        body["target"] = "segment-1" if verdict == "reassign" else "moment-1"
    if verdict == "relabel" and body.get("label") is None:
        body["label"] = "mistrust"
    if verdict == "reassign" and body.get("label") is None:
        body["label"] = "patient"
    if verdict not in ("relabel", "reassign"):
        body.pop("label", None)
    return case
