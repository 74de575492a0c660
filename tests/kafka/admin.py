"""Topic administration on the test broker, with Debian's python3-confluent-kafka (a client no one
here wrote). Run with /usr/bin/python3:

    admin.py recreate BOOTSTRAP NAME[:PARTITIONS[:compact|:KEY=VALUE,...]]...
                                                        delete the topics that exist, create all
                                                        (cleanup.policy=compact with :compact, or
                                                        the topic configs given)
    admin.py delete BOOTSTRAP NAME...                   delete the topics that exist
    admin.py describe BOOTSTRAP NAME                    print {"partitions": N, "configs": {...}}

A real broker keeps its topics between tests, so a test starts from topics that it created
itself. Deletion is asynchronous in Kafka: creation is retried until the old topic is gone, and
every command returns only once the broker's metadata shows the result.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

TIMEOUT = 60.0


def topics(admin):
    return admin.list_topics(timeout=10).topics


def wait(what, done):
    end = time.monotonic() + TIMEOUT
    while not done():
        if time.monotonic() > end:
            sys.exit(f"admin.py: timed out waiting for {what}")
        time.sleep(0.1)


def delete(admin, names):
    present = [n for n in names if n in topics(admin)]
    if not present:
        return
    for name, fut in admin.delete_topics(present, operation_timeout=30).items():
        try:
            fut.result()
        except KafkaException as e:
            if e.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                raise
    wait(f"deletion of {present}", lambda: not set(present) & set(topics(admin)))


def ready(admin, want):
    meta = topics(admin)
    for name, parts in want.items():
        t = meta.get(name)
        if t is None or t.error is not None or len(t.partitions) != parts:
            return False
        if any(p.leader < 0 for p in t.partitions.values()):
            return False
    return True


def serving(bootstrap, want):
    """Every partition answers a ListOffsets request. The metadata names a leader a moment
    before that broker acts as one: until then it answers "Not leader for partition"."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ferry-test-admin"})
    try:
        for name, parts in want.items():
            for p in range(parts):
                try:
                    c.get_watermark_offsets(TopicPartition(name, p), timeout=5)
                except KafkaException:
                    return False
        return True
    finally:
        c.close()


def recreate(admin, bootstrap, specs):
    want, configs = {}, {}
    for spec in specs:
        name, _, rest = spec.partition(":")
        parts, _, extra = rest.partition(":")
        want[name] = int(parts or 1)
        if extra == "compact":
            configs[name] = {"cleanup.policy": "compact"}
        elif extra:
            try:
                configs[name] = dict(kv.split("=", 1) for kv in extra.split(","))
            except ValueError:
                sys.exit(f"admin.py: '{spec}': the third field is 'compact' or KEY=VALUE,...")
    delete(admin, list(want))
    pending = dict(want)
    end = time.monotonic() + TIMEOUT
    while pending:
        new = [NewTopic(n, p, 1, config=configs.get(n, {})) for n, p in pending.items()]
        for name, fut in admin.create_topics(new, operation_timeout=30).items():
            try:
                fut.result()
                del pending[name]
            except KafkaException as e:
                # The deleted topic may not be gone from every part of the broker yet.
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS or time.monotonic() > end:
                    raise
        if pending:
            time.sleep(0.2)
    wait(f"leaders for {want}", lambda: ready(admin, want))
    wait(f"leaders of {list(want)} to serve", lambda: serving(bootstrap, want))


def describe(admin, name):
    meta = topics(admin).get(name)
    if meta is None or meta.error is not None:
        sys.exit(f"admin.py: topic {name} does not exist")
    res = ConfigResource(ConfigResource.Type.TOPIC, name)
    entries = admin.describe_configs([res])[res].result(timeout=10)
    print(json.dumps({
        "partitions": len(meta.partitions),
        "configs": {k: v.value for k, v in sorted(entries.items())},
    }))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    cmd, bootstrap, names = argv[1], argv[2], argv[3:]
    admin = AdminClient({"bootstrap.servers": bootstrap})
    if cmd == "recreate":
        recreate(admin, bootstrap, names)
    elif cmd == "delete":
        delete(admin, names)
    elif cmd == "describe" and len(names) == 1:
        describe(admin, names[0])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
