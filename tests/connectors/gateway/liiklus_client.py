"""A Liiklus client for the gateway's tests: Python's grpcio, with stubs
generated at run time (grpcio-tools) from connectors/gateway/proto/liiklus.proto,
which carries Liiklus's package, service, message and field names and numbers.

    liiklus_client.py ADDR SCENARIO [ARG]... [--token T]

Each scenario checks what it says and exits 1 with the reason when it does
not hold; what the shell test needs back (records, offsets) goes to stdout as
JSON lines. Scenarios:
    publish TOPIC N PREFIX          N records key=PREFIXi value=PREFIX-value-i; prints each reply
    publish-event TOPIC ID          one LiiklusEvent; prints the reply
    receive TOPIC GROUP N [--event] [--latest] [--ack-every K]
                                    one client: subscribes, receives until it has N records
                                    (all partitions), acks after processing; prints records
    split TOPIC GROUP PARTITIONS    two clients in one group: disjoint assignments covering
                                    every partition; an ack by one for a partition the other
                                    holds is FAILED_PRECONDITION; one leaves, the other gets them all
    late TOPIC GROUP N WINDOW       a new group subscribes LATEST to a one-partition topic, then
                                    N records are published; without acking it must get exactly
                                    WINDOW of them, the first published one first
    crash TOPIC GROUP MODE K        MODE after|before: ack after or before processing, and the
                                    client dies after it processed/acked K records (see below)
    slow TOPIC GROUP                partition 0's client never acks; partition 1's must still
                                    get every record (max.in.flight.per.partition is small)
    offsets TOPIC GROUP             prints GetOffsets as {"p": offset}
    end-offsets TOPIC               prints GetEndOffsets
    ack TOPIC GROUP PARTITION OFFSET  an ack by topic/group (no session)
    expect-code CODE SCENARIO ...   the scenario must fail with gRPC status CODE
    bench TOPIC GROUP IDLE_S        receives (acking every 1000th record of a partition) until
                                    no record came for IDLE_S s; prints the count and the wall
                                    times of the first and last record (bench/gateway_bench.sh)
"""
import json
import os
import sys
import tempfile
import threading
import time

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "..", "connectors", "gateway", "proto")


def load_stubs():
    out = tempfile.mkdtemp(prefix="liiklus-stubs-")
    wkt = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    rc = protoc.main(["protoc", "-I" + PROTO_DIR, "-I" + wkt, "--python_out=" + out, "--grpc_python_out=" + out,
                      os.path.join(PROTO_DIR, "liiklus.proto")])
    if rc != 0:
        sys.exit("protoc failed on liiklus.proto")
    sys.path.insert(0, out)
    import liiklus_pb2
    import liiklus_pb2_grpc
    return liiklus_pb2, liiklus_pb2_grpc


pb, pb_grpc = load_stubs()
TOKEN = None


def die(msg):
    sys.stderr.write("liiklus_client: %s\n" % msg)
    sys.exit(1)


def md():
    return (("authorization", "Bearer " + TOKEN),) if TOKEN else ()


def stub(addr):
    return pb_grpc.LiiklusServiceStub(grpc.insecure_channel(addr))


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


class Client:
    """One subscriber: a Subscribe stream, and a Receive stream per assigned
    partition on a thread of its own, each handing records to on_record."""

    def __init__(self, addr, topic, group, on_record, latest=False, event=False):
        self.channel = grpc.insecure_channel(addr)
        self.stub = pb_grpc.LiiklusServiceStub(self.channel)
        self.lock = threading.Lock()
        self.current = {}  # partition -> session id, while its Receive runs
        self.on_record = on_record
        self.event = event
        self.error = None
        req = pb.SubscribeRequest(topic=topic, group=group,
                                  auto_offset_reset=pb.SubscribeRequest.LATEST if latest else pb.SubscribeRequest.EARLIEST)
        self.sub = self.stub.Subscribe(req, metadata=md())
        self.thread = threading.Thread(target=self._subscribe, daemon=True)
        self.thread.start()

    def _subscribe(self):
        try:
            for rep in self.sub:
                a = rep.assignment
                threading.Thread(target=self._receive, args=(a,), daemon=True).start()
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.error = e

    def _receive(self, a):
        with self.lock:
            self.current[a.partition] = a.session_id
        fmt = pb.ReceiveRequest.LIIKLUS_EVENT if self.event else pb.ReceiveRequest.BINARY
        try:
            for rep in self.stub.Receive(pb.ReceiveRequest(assignment=a, format=fmt), metadata=md()):
                self.on_record(self, a, rep)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.error = e
        finally:
            with self.lock:
                if self.current.get(a.partition) == a.session_id:
                    del self.current[a.partition]

    def ack(self, a, offset):
        self.stub.Ack(pb.AckRequest(assignment=a, offset=offset), metadata=md())

    def partitions(self):
        with self.lock:
            return set(self.current)

    def close(self):
        self.sub.cancel()
        self.channel.close()


def wait_for(what, cond, timeout=60):
    """what: a string, or a function giving one (formatted when it times out)."""
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    die("timed out waiting for " + (what() if callable(what) else what))


def record_json(a, rep):
    if rep.HasField("liiklus_event_record"):
        r = rep.liiklus_event_record
        e = r.event
        return {"partition": a.partition, "offset": r.offset, "key": r.key.decode(), "replay": r.replay,
                "event": {"id": e.id, "type": e.type, "source": e.source, "time": e.time,
                          "data_content_type": e.data_content_type, "data": e.data.decode()}}
    r = rep.record
    return {"partition": a.partition, "offset": r.offset, "key": r.key.decode(), "value": r.value.decode(),
            "replay": r.replay, "timestamp_ms": r.timestamp.seconds * 1000 + r.timestamp.nanos // 1000000}


def cmd_publish(addr, topic, n, prefix):
    s = stub(addr)
    for i in range(int(n)):
        rep = s.Publish(pb.PublishRequest(topic=topic, key=("%s%d" % (prefix, i)).encode(),
                                          value=("%s-value-%d" % (prefix, i)).encode()), metadata=md())
        emit({"topic": rep.topic, "partition": rep.partition, "offset": rep.offset})


def cmd_publish_event(addr, topic, eid):
    ev = pb.LiiklusEvent(id=eid, type="com.example.created", source="/tests/gateway", time="2026-12-03T12:00:00Z",
                         data_content_type="application/json", data=b'{"n":1}')
    rep = stub(addr).Publish(pb.PublishRequest(topic=topic, key=eid.encode(), liiklusEvent=ev), metadata=md())
    emit({"topic": rep.topic, "partition": rep.partition, "offset": rep.offset})


def cmd_receive(addr, topic, group, n, *flags):
    n = int(n)
    ack_every = int(flags[flags.index("--ack-every") + 1]) if "--ack-every" in flags else 1
    got, lock = [], threading.Lock()

    def on(c, a, rep):
        rec = record_json(a, rep)
        with lock:
            got.append(rec)
        if (rec["offset"] + 1) % ack_every == 0 or len(got) >= n:
            c.ack(a, rec["offset"])

    c = Client(addr, topic, group, on, latest="--latest" in flags, event="--event" in flags)
    wait_for(lambda: "%d records (have %d)" % (n, len(got)), lambda: len(got) >= n or c.error)
    if c.error:
        raise c.error
    time.sleep(0.3)  # a record too many would show here
    c.close()
    for r in got:
        emit(r)


def cmd_split(addr, topic, group, partitions):
    every = set(range(int(partitions)))
    a = Client(addr, topic, group, lambda *x: None)
    wait_for("the first client to hold every partition", lambda: a.partitions() == every)
    b = Client(addr, topic, group, lambda *x: None)
    wait_for("two clients to split the partitions",
             lambda: a.partitions() | b.partitions() == every and not a.partitions() & b.partitions()
             and a.partitions() and b.partitions())
    emit({"a": sorted(a.partitions()), "b": sorted(b.partitions())})
    # b's session acking a partition a holds must not move a's position.
    with b.lock:
        b_session = next(iter(b.current.values()))
    foreign = min(a.partitions())
    try:
        b.ack(pb.Assignment(session_id=b_session, partition=foreign), 0)
        die("an ack for partition %d through a session that does not hold it succeeded" % foreign)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.FAILED_PRECONDITION:
            die("an ack for a partition the session does not hold: %s %s" % (e.code().name, e.details()))
        emit({"foreign_ack": e.code().name, "details": e.details()})
    b.close()  # b goes away: its partitions move to a
    wait_for("the remaining client to get every partition back", lambda: a.partitions() == every)
    emit({"a": sorted(a.partitions()), "b": []})
    a.close()


def cmd_late(addr, topic, group, n, window):
    n, window = int(n), int(window)
    got, lock = [], threading.Lock()

    def on(c, a, rep):
        with lock:
            got.append(rep.record.offset)

    c = Client(addr, topic, group, on, latest=True)
    wait_for("the partition to be assigned", lambda: c.partitions() == {0} or c.error, timeout=30)
    time.sleep(1)  # the Receive stream is open
    s = stub(addr)
    first = None
    for i in range(n):
        rep = s.Publish(pb.PublishRequest(topic=topic, key=b"late", value=("late-%d" % i).encode()), metadata=md())
        first = rep.offset if first is None else first
    wait_for(lambda: "%d records (have %d)" % (window, len(got)), lambda: len(got) >= window or c.error, timeout=20)
    time.sleep(1.5)  # more than the window would show here
    c.close()
    if c.error:
        raise c.error
    if got != list(range(first, first + window)):
        die("without an ack a new LATEST group got offsets %s, not %d..%d" % (got, first, first + window - 1))
    emit({"first": first, "got": got})


def cmd_crash(addr, topic, group, mode, k):
    """One partition's topic. The client processes records in order; with
    ack `after`, it acks each record after processing it, with `before` it acks
    a record before it processes it. It dies (closes its channel) at record k:
    after processing k records and acking k-1 of them (after), or after acking
    record k-1 without processing it (before). Prints what it processed."""
    k = int(k)
    processed, lock, dead = [], threading.Lock(), threading.Event()

    def on(c, a, rep):
        if dead.is_set():
            return
        off = rep.record.offset
        with lock:
            if mode == "before":
                c.ack(a, off)
                if len(processed) == k - 1:
                    dead.set()  # acked, then the process dies before processing it
                    return
                processed.append(off)
            else:
                processed.append(off)
                if len(processed) == k:
                    dead.set()  # processed, then the process dies before acking it
                    return
                c.ack(a, off)

    c = Client(addr, topic, group, on)
    wait_for("the client to reach record %d" % k, dead.is_set)
    c.close()
    for off in processed:
        emit({"offset": off})


def cmd_slow(addr, topic, group):
    counts, lock = {0: 0, 1: 0}, threading.Lock()

    def on(c, a, rep):
        with lock:
            counts[a.partition] += 1
        if a.partition == 1:
            c.ack(a, rep.record.offset)
        # partition 0: never acked, so its window stays full

    c = Client(addr, topic, group, on)
    wait_for("partition 1 to get its 200 records while partition 0 waits (p0 %d, p1 %d)" % (counts[0], counts[1]),
             lambda: counts[1] >= 200, timeout=30)
    time.sleep(0.5)
    emit({"p0": counts[0], "p1": counts[1]})
    c.close()


def offsets_json(rep):
    return {str(k): v for k, v in sorted(rep.offsets.items())}


def cmd_offsets(addr, topic, group):
    emit(offsets_json(stub(addr).GetOffsets(pb.GetOffsetsRequest(topic=topic, group=group), metadata=md())))


def cmd_end_offsets(addr, topic):
    emit(offsets_json(stub(addr).GetEndOffsets(pb.GetEndOffsetsRequest(topic=topic), metadata=md())))


def cmd_ack(addr, topic, group, partition, offset):
    stub(addr).Ack(pb.AckRequest(topic=topic, group=group, partition=int(partition), offset=int(offset)),
                   metadata=md())


def cmd_expect_code(addr, code, scenario, *args):
    try:
        run(addr, scenario, args)
    except grpc.RpcError as e:
        if e.code().name != code:
            die("expected %s, got %s: %s" % (code, e.code().name, e.details()))
        emit({"code": e.code().name, "details": e.details()})
        return
    die("expected %s, but %s succeeded" % (code, scenario))


def cmd_bench(addr, topic, group, idle_s):
    st = {"count": 0, "first": None, "last": None}
    lock = threading.Lock()

    def on(c, a, rep):
        now = time.time()
        off = rep.record.offset
        with lock:
            st["count"] += 1
            st["first"] = st["first"] or now
            st["last"] = now
        if off % 1000 == 999:
            c.ack(a, off)

    c = Client(addr, topic, group, on)
    idle = float(idle_s)
    start = time.time()
    while True:  # the idle time counts from the first record (joining the group takes a while)
        time.sleep(0.2)
        with lock:
            last = st["last"]
        if (last and time.time() - last > idle) or (not last and time.time() - start > 60):
            break
    c.close()
    emit({"count": st["count"], "first": st["first"], "last": st["last"]})


SCENARIOS = {"publish": cmd_publish, "publish-event": cmd_publish_event, "receive": cmd_receive,
             "split": cmd_split, "late": cmd_late, "crash": cmd_crash, "slow": cmd_slow, "offsets": cmd_offsets,
             "end-offsets": cmd_end_offsets, "ack": cmd_ack, "expect-code": cmd_expect_code,
             "bench": cmd_bench}


def run(addr, scenario, args):
    if scenario not in SCENARIOS:
        die("unknown scenario " + scenario)
    SCENARIOS[scenario](addr, *args)


def main(argv):
    global TOKEN
    if "--token" in argv:
        i = argv.index("--token")
        TOKEN = argv[i + 1]
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 3:
        die(__doc__)
    try:
        run(argv[1], argv[2], argv[3:])
    except grpc.RpcError as e:
        die("%s: %s" % (e.code().name, e.details()))


if __name__ == "__main__":
    main(sys.argv)
