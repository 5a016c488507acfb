#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Checks kansoku's events against the official schemas in tests/schemas (OCSF 1.8.0, ECS 8.17 and 9.4).

    tests/ocsf_validate.py EVENTS.ndjson...   one event per line, OCSF or ECS (told apart per line);
                                              prints the errors counted by shape, exits 1 if there are any

As a module: OCSF().validate(event) and ECS(version).validate(event) return a list of error strings
("path: what is wrong"); validate_any(event) picks the format; shape(event) names an event's shape.

OCSF, with the rules of the OCSF project's validator: every attribute is defined for the class, for a
profile the event declares in metadata.profiles, or for its object (recursively, by object_type);
types (dictionary types with their regex, max_len and range; timestamp_t in milliseconds; arrays);
enum values, and the string sibling equal to the enum caption unless the id is 99 (Other); required
attributes (a profile's only when it is declared); object constraints (at_least_one, just_one);
class_name, category_uid, category_name and type_uid = class_uid * 100 + activity_id; metadata.version
is the schema's; observables name attributes that hold their value. `unmapped` is open (OCSF's place
for extras). Deprecated attributes are errors too (a new event has no reason to use them), but for the
few in DEPRECATED_KEPT, each with its reason.

ECS: every field exists in ECS (kansoku.* is the custom namespace, not checked), its type, arrays where
ECS normalizes to an array, allowed values of event.kind/category/type/outcome, each event.type
expected for one of the event's categories, and the required fields.
"""
import ipaddress
import json
import os
import re
import sys
from collections import Counter

SCHEMAS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
OCSF_VERSION = "1.8.0"
ECS_VERSIONS = ("8.17.0", "9.4.0")
OTHER = 99
# timestamp_t is milliseconds since the epoch: 2001-09-09 .. 2286-11-20 tells ms from s, us and ns
TS_MIN, TS_MAX = 10**12, 10**13
INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
PRIMITIVES = {"string_t", "integer_t", "long_t", "float_t", "boolean_t", "json_t", "object_t"}
# Deprecated attributes kansoku still writes, each with the reason (every other one is an error).
DEPRECATED_KEPT = {
    ("software_info", "package"): "its replacement, sbom, requires software_components: dpkg and rpm name a "
                                  "package, not its parts, and OCSF 1.8 still defines package",
}


def _load(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        return json.load(f)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def shape(ev):
    """'1007/1 Process Activity: Launch' for OCSF (also inside ECS's kansoku.ocsf); 'ecs:' + kind/category/type."""
    o = ev.get("kansoku", {}).get("ocsf") if "@timestamp" in ev else ev
    if isinstance(o, dict) and "class_uid" in o:
        s = f"{o.get('class_uid')}/{o.get('activity_id')} {o.get('class_name')}: {o.get('activity_name')}"
        return ("ecs " if o is not ev else "") + s
    e = ev.get("event", {})
    return f"ecs {e.get('kind')}/{','.join(e.get('category', []))}/{','.join(e.get('type', []))}"


class OCSF:
    def __init__(self, version=OCSF_VERSION):
        s = _load(f"ocsf-{version}.json")
        self.version = s["version"]
        self.classes = {c["uid"]: c for c in s["classes"].values()}
        self.objects = s["objects"]
        self.types = s["types"]
        self.profiles = s["profiles"]

    def base(self, t):
        while t not in PRIMITIVES:
            t = self.types[t]["type"]
        return t

    def validate(self, ev):
        err = []
        if not isinstance(ev, dict):
            return ["$: the event is not an object"]
        cls = self.classes.get(ev.get("class_uid"))
        if cls is None:
            return [f"class_uid: not a class kansoku emits, see tests/schemas/reduce.py (got {ev.get('class_uid')!r})"]
        md = ev.get("metadata") if isinstance(ev.get("metadata"), dict) else {}
        declared = md.get("profiles", [])
        if not isinstance(declared, list):
            declared = []
        for p in declared:
            if p not in cls.get("profiles", []):
                err.append(f"metadata.profiles: not a profile of {cls['name']} (got {p!r})")
        self.check_object(ev, cls, cls["name"], "", set(declared), err)
        if md.get("version") != self.version:
            err.append(f"metadata.version: not {self.version} (got {md.get('version')!r})")
        if ev.get("class_name", cls["caption"]) != cls["caption"]:
            err.append(f"class_name: not {cls['caption']!r} (got {ev['class_name']!r})")
        if ev.get("category_uid") != cls["category_uid"]:
            err.append(f"category_uid: not {cls['category_uid']} (got {ev.get('category_uid')!r})")
        if ev.get("category_name", cls["category_name"]) != cls["category_name"]:
            err.append(f"category_name: not {cls['category_name']!r} (got {ev['category_name']!r})")
        if _is_int(ev.get("activity_id")) and ev.get("type_uid") != cls["uid"] * 100 + ev["activity_id"]:
            err.append(f"type_uid: not class_uid * 100 + activity_id (got {ev.get('type_uid')!r})")
        self.check_observables(ev, err)
        return err

    def check_object(self, obj, d, name, path, declared, err):
        attrs = d["attributes"]
        if not attrs and d.get("name") == "object":
            return  # open object (unmapped): anything goes
        for k, v in obj.items():
            a = attrs.get(k)
            where = f"{path}{k}"
            if a is None:
                err.append(f"{where}: not an attribute of {name}")
                continue
            if a.get("profiles") and not declared.intersection(a["profiles"]):
                err.append(f"{where}: belongs to profile {'/'.join(a['profiles'])}, not declared in metadata.profiles")
            if "@deprecated" in a and (name, k) not in DEPRECATED_KEPT:
                err.append(f"{where}: deprecated in OCSF {a['@deprecated'].get('since', '')}")
            if v is None:
                err.append(f"{where}: null (leave the attribute out)")
                continue
            if a.get("is_array"):
                if not isinstance(v, list):
                    err.append(f"{where}: must be an array")
                    continue
                for i, x in enumerate(v):
                    self.check_value(x, a, f"{where}[]", declared, err)
            else:
                self.check_value(v, a, where, declared, err)
            if "enum" in a and v is not None:
                self.check_sibling(obj, k, v, a, path, err)
        for k, a in attrs.items():
            if a.get("requirement") == "required" and obj.get(k) is None:
                if not a.get("profiles") or declared.intersection(a["profiles"]):
                    err.append(f"{path}{k}: required in {name}, missing")
        c = d.get("constraints", {})
        present = [k for k in c.get("at_least_one", []) if obj.get(k) is not None]
        if c.get("at_least_one") and not present:
            err.append(f"{path.rstrip('.') or name}: needs at least one of {', '.join(c['at_least_one'])}")
        present = [k for k in c.get("just_one", []) if obj.get(k) is not None]
        if c.get("just_one") and len(present) != 1:
            err.append(f"{path.rstrip('.') or name}: needs exactly one of {', '.join(c['just_one'])}")

    def check_value(self, v, a, where, declared, err):
        t = a["type"]
        base = self.base(t)
        if base == "object_t":
            if not isinstance(v, dict):
                err.append(f"{where}: must be an object ({a['object_type']})")
                return
            self.check_object(v, self.objects[a["object_type"]], a["object_type"], where + ".", declared, err)
            return
        ok = {
            "string_t": lambda: isinstance(v, str),
            "integer_t": lambda: _is_int(v) and INT32[0] <= v <= INT32[1],
            "long_t": lambda: _is_int(v) and INT64[0] <= v <= INT64[1],
            "float_t": lambda: isinstance(v, (int, float)) and not isinstance(v, bool),
            "boolean_t": lambda: isinstance(v, bool),
            "json_t": lambda: True,
        }[base]()
        if not ok:
            err.append(f"{where}: not {t} (got {json.dumps(v)[:40]})")
            return
        td = self.types.get(t, {})
        if t == "timestamp_t" and not TS_MIN <= v < TS_MAX:
            err.append(f"{where}: not a time in milliseconds (got {v})")
        if "regex" in td and not re.search(td["regex"], v):
            err.append(f"{where}: does not match {t} (got {v[:40]!r})")
        if "max_len" in td and len(v) > td["max_len"]:
            err.append(f"{where}: longer than {td['max_len']} ({t})")
        if "range" in td and not td["range"][0] <= v <= td["range"][1]:
            err.append(f"{where}: outside {td['range']} for {t} (got {v})")
        if "enum" in a and str(v) not in a["enum"]:
            err.append(f"{where}: not one of {sorted(a['enum'], key=lambda x: (len(x), x))} (got {v!r})")

    def check_sibling(self, obj, k, v, a, path, err):
        sib = a.get("sibling")
        e = a["enum"].get(str(v))
        if not sib or e is None:
            return
        if v == OTHER:
            if obj.get(sib) is None:
                err.append(f"{path}{sib}: required when {k} is 99 (Other)")
        elif sib in obj and obj[sib] != e["caption"]:
            err.append(f"{path}{sib}: not the caption of {k} {v}, {e['caption']!r} (got {obj[sib]!r})")

    def check_observables(self, ev, err):
        for o in ev.get("observables", []) if isinstance(ev.get("observables"), list) else []:
            if not isinstance(o, dict) or "name" not in o:
                continue
            vals = _values_at(ev, o["name"].split("."))
            if not vals:
                err.append(f"observables[]: names {o['name']!r}, which the event does not have")
            elif "value" in o and o["value"] not in [str(x) for x in vals]:
                err.append(f"observables[]: value of {o['name']!r} differs from the attribute")


def _values_at(v, parts):
    if not parts:
        return [v]
    if isinstance(v, list):
        return [x for e in v for x in _values_at(e, parts)]
    if isinstance(v, dict) and parts[0] in v:
        return _values_at(v[parts[0]], parts[1:])
    return []


ECS_STRING = {"keyword", "constant_keyword", "wildcard", "text", "match_only_text", "ip", "version"}
ECS_INT = {"long", "integer", "short", "byte", "unsigned_long"}
ECS_FLOAT = {"float", "double", "scaled_float", "half_float"}
ECS_OPEN = {"flattened", "geo_point"}
ISO8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
# the categorization fields: each event.type must be one its category expects
EVENT_TYPES = "event.type"


class ECS:
    def __init__(self, version):
        self.version = version
        self.fields = _load(f"ecs-{version}.json")
        self.parents = {n.rsplit(".", i)[0] for n in self.fields for i in range(1, n.count(".") + 1)}

    def validate(self, ev):
        err = []
        self.walk(ev, "", err)
        for n, f in self.fields.items():
            if f.get("required") and not _values_at(ev, n.split(".")):
                err.append(f"{n}: required, missing")
        e = ev.get("event", {}) if isinstance(ev.get("event"), dict) else {}
        cats = e.get("category", [])
        allowed = self.fields.get("event.category", {}).get("allowed_values", {})
        expected = {t for c in (cats if isinstance(cats, list) else [cats]) for t in allowed.get(c, [])}
        types = e.get("type", [])
        for t in types if isinstance(types, list) else [types]:
            if expected and t not in expected:
                err.append(f"event.type: not expected for category {cats} (got {t!r})")
        return err

    def walk(self, obj, prefix, err):
        for k, v in obj.items():
            name = prefix + k
            if name == "kansoku" or name.startswith("kansoku."):
                continue  # kansoku's own namespace
            f = self.fields.get(name)
            if f is None:
                if isinstance(v, dict) and name in self.parents:
                    self.walk(v, name + ".", err)
                else:
                    err.append(f"{name}: not an ECS field")
                continue
            self.check(name, v, f, err)

    def check(self, name, v, f, err):
        t = f["type"]
        if "array" in f.get("normalize", []) and not isinstance(v, list):
            err.append(f"{name}: ECS normalizes it to an array")
        for x in v if isinstance(v, list) else [v]:
            if t in ("object", "nested"):
                if isinstance(x, dict):
                    self.walk(x, name + ".", err)
                else:
                    err.append(f"{name}: must be an object ({t})")
                continue
            ok = (
                t in ECS_OPEN
                or (t in ECS_STRING and isinstance(x, str))
                or (t in ECS_INT and _is_int(x))
                or (t in ECS_FLOAT and isinstance(x, (int, float)) and not isinstance(x, bool))
                or (t == "boolean" and isinstance(x, bool))
                or (t == "date" and (isinstance(x, str) and ISO8601.match(x) or _is_int(x)))
            )
            if not ok:
                err.append(f"{name}: not an ECS {t} (got {json.dumps(x)[:40]})")
                continue
            if t == "ip":
                try:
                    ipaddress.ip_address(x)
                except ValueError:
                    err.append(f"{name}: not an IP address (got {x!r})")
            if "allowed_values" in f and x not in f["allowed_values"]:
                err.append(f"{name}: not an allowed value (got {x!r})")


_ocsf, _ecs = None, None


def validate_any(ev):
    """The errors of one event, OCSF or ECS (against every ECS version), each prefixed with the version for ECS."""
    global _ocsf, _ecs
    if "@timestamp" in ev:
        _ecs = _ecs or [ECS(v) for v in ECS_VERSIONS]
        return [f"[ECS {e.version}] {m}" for e in _ecs for m in e.validate(ev)]
    _ocsf = _ocsf or OCSF()
    return _ocsf.validate(ev)


def _generic(msg):
    """The message without the event's own values, so that errors count by kind."""
    return re.sub(r" \(got .*\)$", "", msg)


def report(events):
    """{shape: Counter(error: count)} and a Counter of events per shape."""
    by_shape, seen = {}, Counter()
    for ev in events:
        s = shape(ev)
        seen[s] += 1
        for m in validate_any(ev):
            by_shape.setdefault(s, Counter())[_generic(m)] += 1
    return by_shape, seen


def format_report(by_shape, seen):
    lines = []
    for s in sorted(seen):
        errs = by_shape.get(s, {})
        bad = "" if not errs else f": {len(errs)} kind(s) of error"
        lines.append(f"{s} ({seen[s]} events){bad}")
        for m, n in sorted(errs.items(), key=lambda x: -x[1]):
            lines.append(f"    {n:6d} x {m}")
    return "\n".join(lines)


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1])
        return 2
    events = []
    for path in argv:
        with open(path, encoding="utf-8") as f:
            events += [json.loads(line) for line in f if line.strip()]
    by_shape, seen = report(events)
    print(format_report(by_shape, seen))
    n = sum(sum(c.values()) for c in by_shape.values())
    print(f"{len(events)} events, {len(seen)} shapes, {n} errors")
    return 1 if n else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
