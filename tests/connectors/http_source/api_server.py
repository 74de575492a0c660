#!/usr/bin/python3
"""A small paginated JSON API for http-source's poll tests (stdlib only).

Items are {"id": N, "name": "item-N"}, N = 1..count, in a list that can grow.
  GET /cursor?limit=L[&after=C]  {"data": [items with id > C, at most L],
                                   "meta": {"next": "<last id returned, or C>"}}
  GET /link?page=P&per=L          a JSON array (page P, from 1) with
                                   Link: <...page=P+1>; rel="next" while more exist
  GET /bad                        200 with a body that is not JSON
Both data endpoints send an ETag (of the body) and answer 304 to a matching
If-None-Match. Control (for the test):
  POST /_add?n=K     append K items          POST /_fail?n=K  next K data requests → 500
  GET  /_stats       {"requests": .., "not_modified": .., "failed": ..}
The port goes to --port-file once the server listens (127.0.0.1, free port).
"""
import argparse
import hashlib
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {"count": 0, "fail": 0, "requests": 0, "not_modified": 0, "failed": 0}


def items(after, limit):
    with LOCK:
        last = STATE["count"]
    ids = range(after + 1, min(last, after + limit) + 1)
    return [{"id": i, "name": "item-%d" % i} for i in ids]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def send(self, code, body, headers=()):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        n = int(q.get("n", ["1"])[0])
        with LOCK:
            if url.path == "/_add":
                STATE["count"] += n
            elif url.path == "/_fail":
                STATE["fail"] += n
            else:
                return self.send(404, "{}")
        self.send(200, "{}")

    def data_page(self, url, q):
        if url.path == "/cursor":
            after = int(q.get("after", ["0"])[0] or 0)
            limit = int(q.get("limit", ["10"])[0])
            page = items(after, limit)
            nxt = str(page[-1]["id"]) if page else str(after)
            return json.dumps({"data": page, "meta": {"next": nxt}}), []
        page_no = int(q.get("page", ["1"])[0])
        per = int(q.get("per", ["10"])[0])
        page = items((page_no - 1) * per, per)
        with LOCK:
            more = STATE["count"] > page_no * per
        headers = []
        if more:
            # Relative, as many APIs send them: the client resolves it.
            headers.append(("Link", '</link?page=%d&per=%d>; rel="next", </link?page=1&per=%d>; rel="first"'
                            % (page_no + 1, per, per)))
        return json.dumps(page), headers

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(url.query)
        if url.path == "/_stats":
            with LOCK:
                return self.send(200, json.dumps({k: STATE[k] for k in ("requests", "not_modified", "failed")}))
        if url.path == "/bad":
            return self.send(200, "<html><body>Service temporarily replaced by a login page</body></html>",
                             [("Content-Type", "text/html")])
        if url.path not in ("/cursor", "/link"):
            return self.send(404, '{"error":"no such endpoint"}')
        with LOCK:
            STATE["requests"] += 1
            fail = STATE["fail"] > 0
            if fail:
                STATE["fail"] -= 1
                STATE["failed"] += 1
        if fail:
            return self.send(500, '{"error":"injected failure"}')
        body, headers = self.data_page(url, q)
        etag = '"%s"' % hashlib.sha1(body.encode()).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            with LOCK:
                STATE["not_modified"] += 1
            return self.send(304, b"", [("ETag", etag)])
        self.send(200, body, headers + [("Content-Type", "application/json"), ("ETag", etag)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--items", type=int, default=0)
    args = ap.parse_args()
    STATE["count"] = args.items
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(args.port_file + ".tmp", args.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
