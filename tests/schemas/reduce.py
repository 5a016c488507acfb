#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Reduce the official schemas to what tests/ocsf_validate.py needs, so the repository stays small.

    tests/schemas/reduce.py [SOURCE_DIR]    (default: ../shared/schemas beside the repository)

OCSF: the classes kansoku emits, every object they reach (recursively), the profiles, the dictionary's
types and the version; descriptions and references dropped, everything the validator reads kept as it is.
ECS: per field its type, normalize, required and, for event.*, the allowed values (with expected_event_types).
The output is deterministic: rerunning on the same sources gives the same bytes.
"""
import json
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OCSF_SRC = "ocsf-1.8.0-compiled.json"
ECS_SRCS = ["ecs_flat-8.17.0.yml", "ecs_flat-9.4.0.yml"]
# OCSF classes kansoku emits (class_uid); adding a class to the daemon means adding it here and rerunning.
CLASSES = [1001, 1002, 1007, 2003, 2004, 4001, 4003, 5001, 5002, 5003, 5020, 6002]
DROP = {"description", "references", "@deprecated_note", "source", "examples"}


def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k not in DROP}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v


def reduce_ocsf(src):
    with open(src) as f:
        s = json.load(f)
    by_uid = {c["uid"]: name for name, c in s["classes"].items()}
    classes = {by_uid[u]: s["classes"][by_uid[u]] for u in CLASSES}
    objects, todo = {}, [a.get("object_type") for c in classes.values() for a in c["attributes"].values()]
    while todo:
        t = todo.pop()
        if not t or t in objects:
            continue
        objects[t] = s["objects"][t]
        todo += [a.get("object_type") for a in objects[t]["attributes"].values()]
    return strip({
        "version": s["version"],
        "classes": classes,
        "objects": dict(sorted(objects.items())),
        "profiles": s["profiles"],
        "types": s["dictionary"]["types"]["attributes"],
    })


def reduce_ecs(src):
    with open(src) as f:
        flat = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out = {}
    for name, d in sorted(flat.items()):
        field = {"type": d["type"]}
        if d.get("required"):
            field["required"] = True
        if d.get("normalize"):
            field["normalize"] = d["normalize"]
        if d.get("allowed_values"):
            field["allowed_values"] = {
                v["name"]: v.get("expected_event_types", []) for v in d["allowed_values"]
            }
        out[name] = field
    return out


def write(name, data):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(data, f, indent=None, separators=(",", ":"), sort_keys=False)
        f.write("\n")


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "..", "..", "shared", "schemas")
    write("ocsf-1.8.0.json", reduce_ocsf(os.path.join(src, OCSF_SRC)))
    for e in ECS_SRCS:
        write(e.replace("_flat-", "-").replace(".yml", ".json"), reduce_ecs(os.path.join(src, e)))


if __name__ == "__main__":
    main()
