#!/usr/bin/python3
"""faultproxy.py — an HTTP/1.1 reverse proxy that injects faults between an S3 client and an S3
server, for tests of a client's retries. Standard library only.

    faultproxy.py --upstream http://127.0.0.1:PORT [--rule RULE]... [--rules-file FILE]
                  [--port N] [--port-file FILE] [--log FILE] [--stats FILE]

It listens on 127.0.0.1 (on a free port unless --port is given; the port is printed on stdout and
written to --port-file once it accepts connections) and forwards each request to the upstream as
the client sent it: the request line, the headers (Host included, which SigV4 signs) and the body
go out byte for byte. Responses go back unchanged too, except that the proxy keeps the client's
connection open when the upstream closes its own after a response with a length (moto does this
after every response), so that a client's connection reuse is exercised whatever the server.

A rule is OP:ACTION[:OPTION]... and the first rule that fires on a request decides its fate:

  OP      which requests: ANY; a method (GET, PUT, POST, DELETE, HEAD); or an S3 operation, told
          from the method, the path (path-style, /BUCKET or /BUCKET/KEY) and the query:
            PutObject         PUT /B/K                 UploadPart       PUT /B/K?partNumber=&uploadId=
            GetObject         GET /B/K                 HeadObject       HEAD /B/K
            DeleteObject      DELETE /B/K              HeadBucket       HEAD /B
            ListObjectsV2     GET /B?list-type=2       ListObjects      GET /B (without list-type)
            CreateMultipartUpload  POST /B/K?uploads   CompleteMultipartUpload  POST /B/K?uploadId=
            AbortMultipartUpload   DELETE /B/K?uploadId=   ListParts  GET /B/K?uploadId=
            CreateBucket      PUT /B                   DeleteObjects    POST /B?delete
          Short names: LIST = ListObjectsV2, CreateMPU, CompleteMPU, AbortMPU. PUT matches every
          PUT, UploadPart included. Names are not case-sensitive.
  ACTION  a status from 400 to 599: the proxy answers it with an S3 XML error body (500
          InternalError, 503 and 429 SlowDown, 400 BadRequest, 403 AccessDenied, 404 NoSuchKey,
          408 RequestTimeout, 409 OperationAborted, 412 PreconditionFailed, others InternalError);
          reset: reads the request, then closes the connection with a TCP reset and no reply;
          delay=MS: waits MS milliseconds, then forwards the request.
  OPTION  N (a bare number): fire on at most N requests ("the first N" with nothing else);
          every=N: fire on every Nth matching request (the Nth, 2Nth, ...);
          after=N: let the first N matching requests through untouched;
          retry-after=S: add a Retry-After: S header to an error reply.
          Without N, a rule fires on every request it is eligible for.

  e.g.  PUT:500:3    UploadPart:reset:every=2:2    LIST:503:1:retry-after=1    GET:delay=3000:1

A rules file has one rule a line; blank lines and lines starting with # are skipped.

The proxy answers a few requests of its own instead of forwarding them (paths start /__):
  GET /__faults          counters as JSON: requests, faults, and per rule matched and fired
  GET /__faults/count    the number of faults fired, as a bare number
  PUT /__rules           replace the rules with those of the body (one a line; empty: none) and
                         zero the counters
--log gets one line per request and per fault; --stats gets the JSON of /__faults after each
request (written through a rename, so it is always whole).
"""

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

ERROR_CODES = {
    400: ("BadRequest", "Injected by faultproxy: bad request."),
    403: ("AccessDenied", "Injected by faultproxy: access denied."),
    404: ("NoSuchKey", "Injected by faultproxy: the specified key does not exist."),
    408: ("RequestTimeout", "Injected by faultproxy: the socket was not read from in time."),
    409: ("OperationAborted", "Injected by faultproxy: a conflicting operation is in progress."),
    412: ("PreconditionFailed", "Injected by faultproxy: a precondition did not hold."),
    429: ("SlowDown", "Injected by faultproxy: please reduce your request rate."),
    500: ("InternalError", "Injected by faultproxy: we encountered an internal error."),
    503: ("SlowDown", "Injected by faultproxy: please reduce your request rate."),
}

OP_ALIASES = {
    "list": "listobjectsv2",
    "creatempu": "createmultipartupload",
    "completempu": "completemultipartupload",
    "abortmpu": "abortmultipartupload",
}
OPS = {
    "any", "get", "put", "post", "delete", "head", "putobject", "getobject", "headobject",
    "deleteobject", "headbucket", "listobjectsv2", "listobjects", "createmultipartupload",
    "uploadpart", "completemultipartupload", "abortmultipartupload", "listparts", "createbucket",
    "deleteobjects",
}


class RuleError(ValueError):
    pass


class Rule:
    """One fault rule and its counters (guarded by Proxy.lock)."""

    def __init__(self, text):
        self.text = text.strip()
        parts = self.text.split(":")
        if len(parts) < 2:
            raise RuleError(f"rule '{text}': expected OP:ACTION[:OPTION]...")
        op = parts[0].strip().lower()
        self.op = OP_ALIASES.get(op, op)
        if self.op not in OPS:
            raise RuleError(f"rule '{text}': unknown operation '{parts[0]}'")
        action = parts[1].strip().lower()
        self.status = None
        self.delay_ms = None
        self.reset = False
        if action == "reset":
            self.reset = True
        elif action.startswith("delay="):
            self.delay_ms = self._int(text, action[6:])
        elif action.isdigit() and 400 <= int(action) <= 599:
            self.status = int(action)
        else:
            raise RuleError(f"rule '{text}': unknown action '{parts[1]}' "
                            "(a status 400-599, reset, or delay=MS)")
        self.limit = None
        self.every = 1
        self.after = 0
        self.retry_after = None
        for opt in parts[2:]:
            opt = opt.strip().lower()
            if opt.isdigit():
                self.limit = int(opt)
            elif opt.startswith("every="):
                self.every = self._int(text, opt[6:])
                if self.every < 1:
                    raise RuleError(f"rule '{text}': every= must be at least 1")
            elif opt.startswith("after="):
                self.after = self._int(text, opt[6:])
            elif opt.startswith("retry-after="):
                self.retry_after = self._int(text, opt[12:])
            else:
                raise RuleError(f"rule '{text}': unknown option '{opt}'")
        self.matched = 0
        self.fired = 0

    @staticmethod
    def _int(text, s):
        if not s.isdigit():
            raise RuleError(f"rule '{text}': '{s}' is not a number")
        return int(s)

    def matches(self, tags):
        return self.op == "any" or self.op in tags

    def take(self):
        """Counts one matching request; True when the rule fires on it."""
        self.matched += 1
        n = self.matched - self.after
        if n <= 0 or n % self.every != 0:
            return False
        if self.limit is not None and self.fired >= self.limit:
            return False
        self.fired += 1
        return True

    def stats(self):
        return {"rule": self.text, "matched": self.matched, "fired": self.fired}


def parse_rules(lines):
    rules = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append(Rule(line))
    return rules


def classify(method, target):
    """The names a rule's OP can match for this request (lower case)."""
    method = method.lower()
    split = urllib.parse.urlsplit(target)
    query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
    segments = [s for s in split.path.split("/") if s]
    has_key = len(segments) >= 2
    tags = {method}
    op = None
    if method == "put":
        if "partNumber" in query and "uploadId" in query:
            op = "uploadpart"
        elif has_key:
            op = "putobject"
        elif segments:
            op = "createbucket"
    elif method == "post":
        if "uploads" in query:
            op = "createmultipartupload"
        elif "uploadId" in query:
            op = "completemultipartupload"
        elif "delete" in query:
            op = "deleteobjects"
    elif method == "delete":
        op = "abortmultipartupload" if "uploadId" in query else ("deleteobject" if has_key else None)
    elif method == "get":
        if has_key:
            op = "listparts" if "uploadId" in query else "getobject"
        elif segments:
            op = "listobjectsv2" if query.get("list-type") == ["2"] else "listobjects"
    elif method == "head":
        op = "headobject" if has_key else ("headbucket" if segments else None)
    if op:
        tags.add(op)
    return tags, op or method


class Closed(Exception):
    """The peer closed the connection where a message could end."""


def read_head(f):
    """Reads a message head (start line and headers) as raw bytes, or raises Closed at EOF."""
    lines = []
    size = 0
    while True:
        line = f.readline(65537)
        if not line:
            if lines:
                raise ConnectionError("connection closed inside a message head")
            raise Closed()
        if not lines and line in (b"\r\n", b"\n"):
            continue  # RFC 9112: a server may skip empty lines before a request line
        lines.append(line)
        size += len(line)
        if size > 1 << 20:
            raise ConnectionError("message head over 1 MiB")
        if line in (b"\r\n", b"\n"):
            return b"".join(lines)


def parse_headers(head):
    """(start line, [(lower-case name, value)]) of a raw head."""
    text = head.decode("latin-1")
    lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers.append((name.strip().lower(), value.strip()))
    return lines[0], headers


def header(headers, name):
    for n, v in headers:
        if n == name:
            return v
    return None


def copy_body(src, dst, headers, until_close=False):
    """Copies a message body, framed as its headers say, from file src to socket dst (None:
    read and drop it). Returns the number of body bytes."""
    te = (header(headers, "transfer-encoding") or "").lower()
    total = 0
    if "chunked" in te:
        while True:
            line = src.readline(4096)
            if not line:
                raise ConnectionError("connection closed inside a chunked body")
            if dst:
                dst.sendall(line)
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                # Trailers, up to the empty line.
                while True:
                    line = src.readline(65537)
                    if not line:
                        raise ConnectionError("connection closed inside chunked trailers")
                    if dst:
                        dst.sendall(line)
                    if line in (b"\r\n", b"\n"):
                        return total
            total += copy_exact(src, dst, size + 2) - 2
    length = header(headers, "content-length")
    if length is not None:
        return copy_exact(src, dst, int(length))
    if until_close:
        while True:
            chunk = src.read1(65536)
            if not chunk:
                return total
            total += len(chunk)
            if dst:
                dst.sendall(chunk)
    return 0


def copy_exact(src, dst, n):
    left = n
    while left > 0:
        chunk = src.read(min(left, 65536))
        if not chunk:
            raise ConnectionError(f"connection closed with {left} of {n} body bytes unread")
        if dst:
            dst.sendall(chunk)
        left -= len(chunk)
    return n


class Proxy:
    def __init__(self, upstream, rules, log_path, stats_path):
        url = urllib.parse.urlsplit(upstream)
        if url.scheme != "http" or not url.hostname:
            raise SystemExit(f"faultproxy: --upstream must be http://HOST:PORT, not '{upstream}'")
        self.upstream = (url.hostname, url.port or 80)
        self.rules = rules
        self.lock = threading.Lock()  # guards rules, their counters, the totals, the log
        self.requests = 0
        self.faults = 0
        self.log_file = open(log_path, "a", buffering=1) if log_path else None
        self.stats_path = stats_path
        self.conn_ids = 0

    def log(self, msg):
        with self.lock:
            self._log(msg)

    def _log(self, msg):
        if self.log_file:
            self.log_file.write(f"{time.strftime('%H:%M:%S')}.{int(time.time() * 1000) % 1000:03d} {msg}\n")

    def stats(self):
        return {
            "upstream": f"http://{self.upstream[0]}:{self.upstream[1]}",
            "requests": self.requests,
            "faults": self.faults,
            "rules": [r.stats() for r in self.rules],
        }

    def write_stats(self):
        if not self.stats_path:
            return
        tmp = f"{self.stats_path}.tmp.{threading.get_ident()}"
        with open(tmp, "w") as f:
            json.dump(self.stats(), f, indent=1)
        os.replace(tmp, self.stats_path)

    def decide(self, tags):
        """Counts the request; returns the rule that fires on it, or None."""
        with self.lock:
            self.requests += 1
            for rule in self.rules:
                if rule.matches(tags) and rule.take():
                    self.faults += 1
                    return rule
            return None

    def serve(self, port, port_file):
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", port))
        srv.listen(64)
        port = srv.getsockname()[1]
        if port_file:
            with open(port_file + ".tmp", "w") as f:
                f.write(f"{port}\n")
            os.replace(port_file + ".tmp", port_file)
        print(port, flush=True)
        self.log(f"listening on 127.0.0.1:{port}, upstream {self.upstream[0]}:{self.upstream[1]}, "
                 f"rules: {', '.join(r.text for r in self.rules) or 'none'}")
        with self.lock:
            self.write_stats()
        while True:
            client, _ = srv.accept()
            self.conn_ids += 1
            threading.Thread(target=Connection(self, client, self.conn_ids).run, daemon=True).start()


class Connection:
    """One client connection and the upstream connection it uses (opened when needed)."""

    def __init__(self, proxy, client, cid):
        self.proxy = proxy
        self.client = client
        self.cf = client.makefile("rb")
        self.cid = cid
        self.up = None
        self.uf = None

    def run(self):
        try:
            while self.one_request():
                pass
        except Closed:
            pass
        except (ConnectionError, OSError, ValueError) as e:
            self.proxy.log(f"c{self.cid} connection ended: {e}")
        finally:
            self.close_upstream()
            try:
                self.client.close()
            except OSError:
                pass

    def close_upstream(self):
        if self.up:
            try:
                self.up.close()
            except OSError:
                pass
        self.up = self.uf = None

    def one_request(self):
        """Handles one request; False when the client connection is to be closed."""
        head = read_head(self.cf)
        start, headers = parse_headers(head)
        parts = start.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x request line: {start[:200]!r}")
        method, target, version = parts
        client_close = self.wants_close(version, headers)
        expect = (header(headers, "expect") or "").lower() == "100-continue"

        if target.startswith("/__"):
            if expect:
                self.client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = bytearray()
            copy_body_into(self.cf, body, headers)
            self.control(method, target, bytes(body))
            return not client_close

        tags, op = classify(method, target)
        rule = self.proxy.decide(tags)
        if rule is not None and (rule.status or rule.reset):
            # The client may wait for 100 Continue before it sends the body; the body is read
            # in full either way, so that the connection stays in step for the next request.
            if expect:
                self.client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            n = copy_body(self.cf, None, headers)
            with self.proxy.lock:
                self.proxy._log(f"c{self.cid} {method} {target} op={op} body={n} "
                                f"FAULT {'reset' if rule.reset else rule.status} (rule '{rule.text}', "
                                f"fired {rule.fired})")
                self.proxy.write_stats()
            if rule.reset:
                # SO_LINGER with a zero timeout: close sends RST instead of FIN.
                self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return False
            self.send_error(rule, method, target)
            return not client_close

        if rule is not None and rule.delay_ms:
            with self.proxy.lock:
                self.proxy._log(f"c{self.cid} {method} {target} op={op} FAULT delay "
                                f"{rule.delay_ms} ms (rule '{rule.text}', fired {rule.fired})")
            time.sleep(rule.delay_ms / 1000)

        status, keep_upstream = self.forward(head, headers, method, expect)
        with self.proxy.lock:
            self.proxy._log(f"c{self.cid} {method} {target} op={op} -> {status}")
            self.proxy.write_stats()
        if not keep_upstream:
            self.close_upstream()
        return not client_close

    @staticmethod
    def wants_close(version, headers):
        conn = (header(headers, "connection") or "").lower()
        if version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn

    def connect_upstream(self):
        if self.up is None:
            self.up = socket.create_connection(self.proxy.upstream, timeout=120)
            self.up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.uf = self.up.makefile("rb")

    def forward(self, head, headers, method, expect):
        """Sends the request upstream and its response back. Returns (status, whether the
        upstream connection can be used again)."""
        if expect:
            # The client may wait for this before it sends the body. The upstream's own 100
            # Continue is dropped below.
            self.client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        # The body is read whole (framing bytes included) so that the request can be sent again
        # when a kept upstream connection turns out to have been closed by the server.
        body = bytearray()
        copy_body_into(self.cf, body, headers)
        request = head + bytes(body)
        for attempt in (1, 2):
            fresh = self.up is None
            self.connect_upstream()
            try:
                self.up.sendall(request)
                rstart, rhead, rheaders, status = self.read_response_head()
                break
            except (ConnectionError, OSError):
                self.close_upstream()
                if fresh or attempt == 2:
                    raise
        has_framing = (header(rheaders, "content-length") is not None
                       or "chunked" in (header(rheaders, "transfer-encoding") or "").lower())
        no_body = method == "HEAD" or status in (204, 304)
        up_close = ("close" in (header(rheaders, "connection") or "").lower()
                    or rstart.startswith("HTTP/1.0"))
        if up_close and (has_framing or no_body):
            # The upstream closes; the client's connection can stay: say so (Connection is
            # hop by hop, and responses are not signed).
            rhead = rewrite_connection(rhead)
        self.client.sendall(rhead)
        if not no_body:
            copy_body(self.uf, self.client, rheaders, until_close=not has_framing)
        if not no_body and not has_framing:
            raise Closed()  # the body ended with the upstream's connection: end the client's too
        return status, not up_close

    def read_response_head(self):
        """The first final response head from upstream: interim (1xx) ones are skipped."""
        while True:
            rhead = read_head_upstream(self.uf)
            rstart, rheaders = parse_headers(rhead)
            status = int(rstart.split(" ")[1])
            if not 100 <= status < 200:
                return rstart, rhead, rheaders, status

    def send_error(self, rule, method, target):
        code, message = ERROR_CODES.get(rule.status, ("InternalError", "Injected by faultproxy."))
        resource = urllib.parse.urlsplit(target).path
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                f"<Message>{message}</Message><Resource>{resource}</Resource>"
                f"<RequestId>faultproxy</RequestId></Error>").encode()
        reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
                  409: "Conflict", 412: "Precondition Failed", 429: "Too Many Requests",
                  500: "Internal Server Error", 503: "Service Unavailable"}.get(rule.status, "Error")
        lines = [f"HTTP/1.1 {rule.status} {reason}", "Content-Type: application/xml",
                 "x-amz-request-id: faultproxy"]
        if rule.retry_after is not None:
            lines.append(f"Retry-After: {rule.retry_after}")
        if method == "HEAD":
            lines.append("Content-Length: 0")
            body = b""
        else:
            lines.append(f"Content-Length: {len(body)}")
        self.client.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    def control(self, method, target, body):
        path = urllib.parse.urlsplit(target).path
        status, ctype, out = 200, "application/json", b""
        if method == "GET" and path == "/__faults":
            with self.proxy.lock:
                out = (json.dumps(self.proxy.stats(), indent=1) + "\n").encode()
        elif method == "GET" and path == "/__faults/count":
            with self.proxy.lock:
                out = f"{self.proxy.faults}\n".encode()
            ctype = "text/plain"
        elif method == "PUT" and path == "/__rules":
            try:
                rules = parse_rules(body.decode().splitlines())
            except (RuleError, UnicodeDecodeError) as e:
                status, ctype, out = 400, "text/plain", f"{e}\n".encode()
            else:
                with self.proxy.lock:
                    self.proxy.rules = rules
                    self.proxy.requests = self.proxy.faults = 0
                    self.proxy._log(f"rules replaced: {', '.join(r.text for r in rules) or 'none'}")
                    self.proxy.write_stats()
                out = b"ok\n"
                ctype = "text/plain"
        else:
            status, ctype, out = 404, "text/plain", b"faultproxy: GET /__faults, GET /__faults/count, PUT /__rules\n"
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        self.client.sendall(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\n"
                            f"Content-Length: {len(out)}\r\n\r\n".encode() + out)


def read_head_upstream(f):
    try:
        return read_head(f)
    except Closed:
        raise ConnectionError("the upstream closed the connection without a response") from None


def copy_body_into(src, buf, headers):
    class Sink:
        def sendall(self, b):
            buf.extend(b)
    copy_body(src, Sink(), headers)


def rewrite_connection(head):
    """The response head with its Connection header saying keep-alive."""
    lines = head.split(b"\r\n")
    out = [lines[0]]
    for line in lines[1:]:
        if line.lower().startswith(b"connection:"):
            continue
        out.append(line)
    # out ends with two empty strings (the head's closing CRLF CRLF): insert before them.
    out.insert(len(out) - 2, b"Connection: keep-alive")
    return b"\r\n".join(out)


def main():
    ap = argparse.ArgumentParser(description="A fault-injecting HTTP/1.1 reverse proxy for S3 tests.")
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the S3 server")
    ap.add_argument("--rule", action="append", default=[], help="OP:ACTION[:OPTION]... (repeatable)")
    ap.add_argument("--rules-file", help="a file of rules, one a line")
    ap.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="append a line per request and per fault here")
    ap.add_argument("--stats", help="keep the counters (JSON) here")
    args = ap.parse_args()
    lines = list(args.rule)
    try:
        if args.rules_file:
            with open(args.rules_file) as f:
                lines += f.read().splitlines()
        rules = parse_rules(lines)
    except (RuleError, OSError) as e:
        print(f"faultproxy: {e}", file=sys.stderr)
        return 2
    proxy = Proxy(args.upstream, rules, args.log, args.stats)
    try:
        proxy.serve(args.port, args.port_file)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
