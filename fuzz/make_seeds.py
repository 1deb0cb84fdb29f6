#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/seeds/ from the conformance data in
testdata/ (a few dozen files per target, deterministic). Run from the
repository root or fuzz/: python3 fuzz/make_seeds.py"""
import hashlib, json, os, random, shutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")


def cases(name):
    with open(os.path.join(ROOT, "testdata", name), encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s and not s.startswith("//"):
                yield json.loads(s)


def write(target, items, limit):
    d = os.path.join(SEEDS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    seen = set()
    for data in items:
        if len(seen) >= limit:
            break
        h = hashlib.sha1(data).hexdigest()[:16]
        if h in seen:
            continue
        seen.add(h)
        with open(os.path.join(d, h), "wb") as f:
            f.write(data)


def text(case, raw, parsed):
    if raw in case:
        return case[raw]
    if parsed in case:
        return json.dumps(case[parsed], ensure_ascii=False)
    return None


def spread(items, limit, key):
    """Up to `limit` items, round-robin over `key` so every kind appears."""
    groups = {}
    for it in items:
        groups.setdefault(key(it), []).append(it)
    out = []
    while len(out) < limit and any(groups.values()):
        for k in sorted(groups):
            if groups[k] and len(out) < limit:
                out.append(groups[k].pop(0))
    return out


files = ["spec-examples.jsonl", "operators.jsonl", "errors.jsonl", "numeric.jsonl",
         "arrays.jsonl", "matrix.jsonl"]
all_cases = [c for f in files for c in cases(f)]

# pattern: valid and invalid patterns of every operator family.
pats = [(c.get("op", ""), text(c, "pattern_text", "pattern")) for c in all_cases]
pats = [p for p in pats if p[1] is not None]
write("pattern", [p.encode() for _, p in spread(pats, 48, lambda p: p[0])], 48)

# flatten: events, plus hostile shapes.
evs = [(c.get("op", ""), text(c, "event_text", "event")) for c in all_cases]
evs = [e for e in evs if e[1] is not None]
hostile = [
    '{"a":' + "[" * 1100 + "1" + "]" * 1100 + "}",
    '{"a":' + "[" * 999 + "1" + "]" * 999 + "}",
    '{"k":"a","k":"b","k":{"x":1}}',
    '{"s":"\\ud800","t":"\\udc00\\ud800x","u":"\\ud83d\\ude00"}',
    '{"n":[1e400,-0,1E-400,123456789012345678901234567890,-0.0e-5]}',
    '{"a":"x"} trailing',
    '{"a":\t"x"\r\n}',
    '\ufeff{"a":1}',
    '{"a":"\\u0000\\"\\\\\\/\\b\\f\\n\\r\\t"}',
]
items = [e.encode() for _, e in spread(evs, 40, lambda e: e[0])] + [h.encode() for h in hostile]
items.append(b'{"a":"\xff\xfe"}')
items.append(b'{"a":"\xed\xa0\x80"}')
write("flatten", items, 60)

# differential: random bytes for the structured decoder.
rng = random.Random(4)
write("differential", [bytes(rng.randrange(256) for _ in range(rng.randrange(64, 2048)))
                       for _ in range(32)], 32)

# transform: mode byte, event, option, then name/path pairs, 0xFF between.
tr = []
for c in cases("transform.jsonl"):
    event = text(c, "event_text", "event")
    if event is None:
        continue
    parts = []
    if "input_template" in c:
        mode = 3
        parts = [event, c["input_template"]]
        for k, v in c.get("input_paths_map", {}).items():
            parts += [k, v]
    elif "input_path" in c:
        mode, parts = 2, [event, c["input_path"]]
    elif "input" in c:
        mode, parts = 1, [event, c["input"] if isinstance(c["input"], str) else json.dumps(c["input"])]
    else:
        mode, parts = 0, [event]
    tr.append(bytes([mode]) + b"\xff".join(p.encode() for p in parts))
write("transform", tr, 48)
