#!/usr/bin/python3
"""check.py LOG [options]: checks what tests/http/httpd.py received.

Records are the JSON objects the tests produce ({"id", "seq", "p"}); a body
is read as --format says. Accepted = answered 2xx and not a duplicate.
  --expect TOPIC:PARTITIONS:N   ids TOPIC-<p>-<0..N-1> for each partition
  --exactly-once                each expected id accepted exactly once
  --at-least-once               each expected id accepted at least once
  --ordered                     per partition, accepted seqs only go up
  --keys                        Idempotency-Key = topic-partition-first-last spans the body's records
  --path PREFIX                 only requests to paths starting with PREFIX
Prints a one-line summary."""
import argparse, collections, json, sys

ap = argparse.ArgumentParser()
ap.add_argument("log")
ap.add_argument("--format", default="json-array")
ap.add_argument("--expect", action="append", default=[])
ap.add_argument("--exactly-once", action="store_true")
ap.add_argument("--at-least-once", action="store_true")
ap.add_argument("--ordered", action="store_true")
ap.add_argument("--keys", action="store_true")
ap.add_argument("--path", default="/")
a = ap.parse_args()


def records(fmt, body):
    if fmt == "json-array":
        v = json.loads(body)
        assert isinstance(v, list), "json-array body is not an array: %r" % body[:80]
        return v
    if fmt == "ndjson":
        assert body.endswith("\n"), "ndjson body does not end with a newline"
        return [json.loads(l) for l in body.split("\n")[:-1]]
    return [json.loads(body)]


accepted = collections.Counter()
order = collections.defaultdict(list)
requests = dups = 0
for line in open(a.log):
    r = json.loads(line)
    if not r["path"].startswith(a.path) or r["path"].startswith("/token"):
        continue
    requests += 1
    if not (200 <= r["status"] < 300):
        continue
    if r["dup"]:
        dups += 1
        continue
    recs = records(a.format, r["body"])
    for rec in recs:
        accepted[rec["id"]] += 1
        order[(rec["id"].rsplit("-", 2)[0], rec["p"])].append(rec["seq"])
    if a.keys:
        key = r["headers"].get("Idempotency-Key")
        assert key, "a request without Idempotency-Key"
        topic_p, first, last = key.rsplit("-", 2)
        assert int(last) - int(first) + 1 == len(recs), "key %s for %d records" % (key, len(recs))
        assert recs[0]["seq"] == int(first) and recs[-1]["seq"] == int(last), \
            "key %s but records %s..%s" % (key, recs[0]["seq"], recs[-1]["seq"])

expected = []
for e in a.expect:
    topic, parts, n = e.split(":")
    expected += ["%s-%d-%d" % (topic, p, i) for p in range(int(parts)) for i in range(int(n))]
missing = [i for i in expected if accepted[i] == 0]
twice = [i for i in expected if accepted[i] > 1]
unexpected = [i for i in accepted if expected and i not in set(expected)]
print("requests %d, accepted records %d (distinct %d), duplicates dropped by the receiver %d, missing %d, "
      "accepted twice %d" % (requests, sum(accepted.values()), len(accepted), dups, len(missing), len(twice)))
ok = True
if (a.exactly_once or a.at_least_once) and missing:
    print("FAIL: lost records, e.g. %s" % missing[:5]); ok = False
if a.exactly_once and twice:
    print("FAIL: accepted more than once, e.g. %s" % twice[:5]); ok = False
if unexpected:
    print("FAIL: unexpected records, e.g. %s" % unexpected[:5]); ok = False
if a.ordered:
    for k, seqs in order.items():
        bad = [i for i in range(1, len(seqs)) if seqs[i] <= seqs[i - 1]]
        if bad:
            print("FAIL: %s/%s out of order at %s" % (k[0], k[1], seqs[bad[0] - 1:bad[0] + 1])); ok = False
sys.exit(0 if ok else 1)
