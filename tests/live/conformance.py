# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Every event the live tests see (the daemon's file output, the HTTP receivers' documents) goes through
tests/ocsf_validate.py: errors are counted per shape for the session's summary, and fail the test whose
daemon wrote them (STRICT), so a field OCSF or ECS does not know fails CI. So does an OCSF event shape
(class, activity) that docs/events.md does not show."""
import json
import os
import sys
import threading
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/ocsf_validate.py
from gen_events_doc import documented_shapes  # noqa: E402
from ocsf_validate import _generic, format_report, shape, validate_any  # noqa: E402

STRICT = True
SAMPLES = os.environ.get("KS_EVENT_SAMPLES")  # write the first event of every shape seen to this NDJSON file


class Conformance:
    def __init__(self):
        self.lock = threading.Lock()
        self.by_shape, self.seen, self.pending, self.samples = {}, Counter(), [], {}
        self.documented = documented_shapes()

    def check(self, ev):
        if not isinstance(ev, dict) or not ("class_uid" in ev or "@timestamp" in ev):
            return  # not an event (a receiver's other document)
        s, errors = shape(ev), validate_any(ev)
        if "class_uid" in ev and s not in self.documented and not SAMPLES:  # gathering samples: all new
            errors.append(f"not in docs/events.md: a new kind of event is documented with tests/gen_events_doc.py "
                          f"--samples (samples from KS_EVENT_SAMPLES=FILE)")
        with self.lock:
            self.seen[s] += 1
            self.samples.setdefault(s, ev)
            for m in errors:
                self.by_shape.setdefault(s, Counter())[_generic(m)] += 1
            if errors:
                self.pending.append(f"{s}: {'; '.join(errors[:3])}")

    def take(self):
        """The errors since the last take(), one line per bad event."""
        with self.lock:
            p, self.pending = self.pending, []
        return p

    def summary(self):
        with self.lock:
            n = sum(sum(c.values()) for c in self.by_shape.values())
            text = format_report(self.by_shape, self.seen)
        if SAMPLES:
            with open(SAMPLES, "w") as f:
                for s in sorted(self.samples):
                    f.write(json.dumps(self.samples[s]) + "\n")
        return n, text


COLLECTOR = Conformance()
