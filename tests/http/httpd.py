#!/usr/bin/python3
"""httpd.py - the tests' HTTP receiver (stdlib only).

Listens on 127.0.0.1 (a free port unless --port), writes the port to
--port-file, and records every request it answers (method, path, headers,
body, the status it gave, whether it was a duplicate) as one JSON line in
--log.

Faults, from --fault RULE (repeatable) or POST /__faults (a JSON list of
rules, replacing the current ones; GET /__faults shows them with what is
left). A rule is a JSON object; the first rule that matches a request and
has count left decides the answer:
  {"status": 500, "count": 3}                 answer 500, three times
  {"status": 429, "retry_after": "1"}         ... with Retry-After (seconds or an HTTP-date)
  {"status": 400, "match": "\\"bad\\""}         only requests whose body contains the text
  {"reset": true, "count": 1}                 close the connection without an answer
  {"slow": 3.0, "count": 1}                   answer 200 after 3 s (to make clients time out)
  {"path": "/x", ...}                         only paths starting with /x
count -1 (the default) means every time.

--dedup: a request whose Idempotency-Key was answered 2xx before is answered
200 again but logged with "dup": true (a receiver that drops duplicates).

OAuth2 (--oauth2-client ID:SECRET): POST /token with grant_type=
client_credentials and HTTP basic client authentication issues tokens that
live --token-ttl seconds; every other request must then carry a valid,
unexpired "Authorization: Bearer" token, else it is answered 401.

POST /__revoke[?ttl=S] forgets every token issued (the next requests get 401),
and makes new tokens live S seconds.

--delay-ms N: every answer waits N ms (to let requests overlap).
--quiet: no log file lines (for the benchmark; counters only).
--count-records: count the records of accepted bodies (a JSON array's items,
ndjson's lines) in the stats' "records".
GET /__stats: {"requests": n, "by_status": {...}, "tokens_issued": n, "token_rejected": n,
"max_concurrent": n, "max_concurrent_per_partition": n} (per partition: requests
being served at once with the same "<topic>-<partition>" Idempotency-Key prefix).
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import threading
import time
import secrets
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus

LOCK = threading.Lock()
STATE = {
    "faults": [],
    "seen_keys": set(),
    "tokens": {},  # token -> expiry (time.time())
    "stats": {"requests": 0, "by_status": {}, "tokens_issued": 0, "max_concurrent": 0, "token_rejected": 0,
              "max_concurrent_per_partition": 0, "records": 0},
    "concurrent": 0,
    "per_partition": {},  # "<topic>-<partition>" (from Idempotency-Key) -> requests being served
}
ARGS = None
LOG = None


def take_fault(path, body):
    with LOCK:
        for rule in STATE["faults"]:
            if rule.get("count", -1) == 0:
                continue
            if "path" in rule and not path.startswith(rule["path"]):
                continue
            if "match" in rule and rule["match"].encode() not in body:
                continue
            if rule.get("count", -1) > 0:
                rule["count"] -= 1
            return dict(rule)
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet stderr
        pass

    def leave(self):
        """Ends this request's count in the concurrency stats. Called before the
        answer is written: once the client has the answer it may send the next
        request of the partition, which must not find this one still counted."""
        part, self.counted = getattr(self, "counted", None), None
        if part is None:
            return
        with LOCK:
            STATE["concurrent"] -= 1
            if part:
                STATE["per_partition"][part] -= 1

    def answer(self, status, body=b"", headers=None, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.leave()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def record(self, body, status, dup=False, fault=None):
        with LOCK:
            st = STATE["stats"]
            st["requests"] += 1
            st["by_status"][str(status)] = st["by_status"].get(str(status), 0) + 1
            if LOG and not ARGS.quiet:
                LOG.write(json.dumps({
                    "t": time.time(), "method": self.command, "path": self.path,
                    "headers": {k: v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"), "status": status, "dup": dup,
                    "fault": fault}) + "\n")
                LOG.flush()

    def control(self, body):
        if self.path.startswith("/__faults"):
            if self.command == "POST":
                rules = json.loads(body or b"[]")
                with LOCK:
                    STATE["faults"] = rules
            with LOCK:
                out = json.dumps(STATE["faults"])
            return self.answer(200, out)
        if self.path.startswith("/__revoke"):
            with LOCK:
                STATE["tokens"].clear()
                q = parse_qs(self.path.partition("?")[2])
                if "ttl" in q:
                    ARGS.token_ttl = int(q["ttl"][0])
            return self.answer(200, "{}")
        if self.path.startswith("/__stats"):
            with LOCK:
                out = json.dumps(STATE["stats"])
            return self.answer(200, out)
        return self.answer(404, "{}")

    def token(self, body):
        # RFC 6749 2.3.1: the id and secret are form-urlencoded, then basic auth.
        auth = self.headers.get("Authorization", "")
        try:
            uid, _, pw = base64.b64decode(auth[6:]).decode().partition(":") if auth.startswith("Basic ") else ("", "", "")
        except ValueError:
            uid = pw = ""
        form = parse_qs(body.decode())
        if "%s:%s" % (unquote_plus(uid), unquote_plus(pw)) != ARGS.oauth2_client:
            self.record(body, 401, fault="bad client")
            return self.answer(401, '{"error":"invalid_client"}')
        if form.get("grant_type") != ["client_credentials"]:
            self.record(body, 400, fault="bad grant")
            return self.answer(400, '{"error":"unsupported_grant_type"}')
        tok = secrets.token_hex(12)
        with LOCK:
            STATE["tokens"][tok] = time.time() + ARGS.token_ttl
            STATE["stats"]["tokens_issued"] += 1
        self.record(body, 200)
        return self.answer(200, json.dumps({"access_token": tok, "token_type": "Bearer",
                                            "expires_in": ARGS.token_ttl}))

    def handle_any(self):
        body = self.read_body()
        if self.path.startswith("/__"):
            return self.control(body)
        if ARGS.oauth2_client and self.path.startswith("/token"):
            return self.token(body)
        key = self.headers.get("Idempotency-Key") or ""
        part = key.rsplit("-", 2)[0] if key.count("-") >= 2 else ""
        with LOCK:
            STATE["concurrent"] += 1
            st = STATE["stats"]
            st["max_concurrent"] = max(st["max_concurrent"], STATE["concurrent"])
            if part:
                n = STATE["per_partition"].get(part, 0) + 1
                STATE["per_partition"][part] = n
                st["max_concurrent_per_partition"] = max(st["max_concurrent_per_partition"], n)
        self.counted = part
        try:
            self.serve(body)
        finally:
            self.leave()

    def serve(self, body):
        if ARGS.oauth2_client:
            auth = self.headers.get("Authorization", "")
            tok = auth[7:] if auth.startswith("Bearer ") else None
            with LOCK:
                exp = STATE["tokens"].get(tok)
            if exp is None or exp < time.time():
                with LOCK:
                    STATE["stats"]["token_rejected"] += 1
                self.record(body, 401, fault="expired token" if exp else "no token")
                return self.answer(401, '{"error":"invalid_token"}')
        if ARGS.delay_ms:
            time.sleep(ARGS.delay_ms / 1000.0)
        rule = take_fault(self.path, body)
        if rule:
            if rule.get("reset"):
                self.record(body, 0, fault="reset")
                self.leave()
                # RST instead of FIN: linger 0, then close.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()
                return
            if rule.get("slow"):
                time.sleep(float(rule["slow"]))
            elif "status" in rule:
                hdrs = {}
                if "retry_after" in rule:
                    hdrs["Retry-After"] = str(rule["retry_after"])
                self.record(body, rule["status"], fault="rule")
                return self.answer(rule["status"], rule.get("body", '{"error":"injected"}'), hdrs)
        key = self.headers.get("Idempotency-Key")
        dup = False
        if ARGS.dedup and key:
            with LOCK:
                dup = key in STATE["seen_keys"]
                STATE["seen_keys"].add(key)
        if ARGS.count_records:
            n = len(json.loads(body)) if body[:1] == b"[" else body.count(b"\n") or 1
            with LOCK:
                STATE["stats"]["records"] += n
        self.record(body, 200, dup=dup)
        return self.answer(200, '{"ok":true}')

    do_POST = do_PUT = do_PATCH = do_GET = do_DELETE = handle_any


def main():
    global ARGS, LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    ap.add_argument("--fault", action="append", default=[])
    ap.add_argument("--dedup", action="store_true")
    ap.add_argument("--oauth2-client")
    ap.add_argument("--token-ttl", type=int, default=3600)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--count-records", action="store_true")
    ARGS = ap.parse_args()
    STATE["faults"] = [json.loads(f) for f in ARGS.fault]
    if ARGS.log:
        LOG = open(ARGS.log, "a")
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    port = srv.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, ARGS.port_file)
    print(port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
