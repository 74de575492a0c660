#!/usr/bin/env bash
# The README's quick start pipeline (configs/quickstart.yaml) runs on the
# embedded broker and lines arrive in the output file.
source "$TESTLIB"
cd "$WORK"
"$FERRY" validate "$FERRY_SOURCE_DIR/configs/quickstart.yaml" || fail "quickstart config invalid"
ferry_start quickstart "$FERRY_SOURCE_DIR/configs/quickstart.yaml"
wait_until 60 bash -c "[ -f quickstart-out.txt ] && [ \$(wc -l < quickstart-out.txt) -ge 20 ]" || fail "no lines arrived"
grep -q "embedded Kafka broker" "$WORK/quickstart.log" || fail "embedded broker address not logged"
ferry_stop "$FERRY_PID"
/usr/bin/python3 -c '
import json,sys
seqs=[json.loads(l)["seq"] for l in open("quickstart-out.txt")]
assert len(seqs)==len(set(seqs)), "duplicates"
' || fail "quickstart output is not the datagen JSON"
# Restart continues the sequence (offsets in quickstart-offsets.dat).
before=$(wc -l < quickstart-out.txt)
ferry_start quickstart2 "$FERRY_SOURCE_DIR/configs/quickstart.yaml"
wait_until 60 bash -c "[ \$(wc -l < quickstart-out.txt) -ge $((before + 10)) ]" || fail "no lines after restart"
ferry_stop "$FERRY_PID"
/usr/bin/python3 -c '
import json,sys
seqs=[json.loads(l)["seq"] for l in open("quickstart-out.txt")]
assert len(seqs)==len(set(seqs)), "restart repeated sequence numbers"
before=int(sys.argv[1])
assert min(seqs[before:]) > max(seqs[:before]), "restart went back in the sequence"
' "$before" || fail "restart did not continue the sequence"
log "PASS"
