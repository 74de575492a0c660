#!/usr/bin/env bash
# The Kubernetes sidecar manifest (packaging/kubernetes/ferry-sidecar.yaml):
# valid against Kubernetes' own schemas (kubernetes-validate from PyPI, with
# the schemas inside, --strict: unknown fields are errors; a misspelt field is
# refused, so the check can fail), and what it promises holds: the pipeline
# in its ConfigMap passes `ferry validate` with the Secret's files in place of
# the mounted ones, the grace period is above shutdown.timeout, the probes
# are /health and /ready on the REST port, and every ${file:} reference names
# a key of the Secret.
source "$TESTLIB"
MANIFEST=$FERRY_SOURCE_DIR/packaging/kubernetes/ferry-sidecar.yaml
REQ=$FERRY_SOURCE_DIR/tests/packaging/requirements.txt
CACHE=${FERRY_CACHE:-${HOME:-/root}/.cache/ferry}
VENV=$CACHE/kubernetes-validate-$(sha256sum "$REQ" | cut -c1-12)
mkdir -p "$CACHE"
(
    flock 9
    # Made in place (a venv's scripts name its path), marked done at the end.
    if [ ! -e "$VENV/.complete" ]; then
        rm -rf "$VENV"
        /usr/bin/python3 -m venv "$VENV" >&2
        "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ" >&2
        touch "$VENV/.complete"
    fi
) 9>"$CACHE/kubernetes-validate.lock"

"$VENV/bin/kubernetes-validate" --strict --quiet "$MANIFEST" >"$WORK/kv.out" 2>&1 ||
    fail "the manifest does not validate: $(cat "$WORK/kv.out")"
sed 's/livenessProbe:/livenesProbe:/' "$MANIFEST" >"$WORK/typo.yaml"
"$VENV/bin/kubernetes-validate" --strict --quiet "$WORK/typo.yaml" >"$WORK/typo.out" 2>&1 &&
    fail "the validator accepted a misspelt field"
grep -q "livenesProbe" "$WORK/typo.out" || fail "the validator did not name the misspelt field: $(cat "$WORK/typo.out")"

# The promises, read with the validator's own PyYAML.
"$VENV/bin/python" - "$MANIFEST" "$WORK" <<'PY' || fail "the manifest breaks a promise (above)"
import os, re, sys, yaml
docs = {d["kind"]: d for d in yaml.safe_load_all(open(sys.argv[1]))}
work = sys.argv[2]
pipeline = docs["ConfigMap"]["data"]["ferry.yaml"]
secret = docs["Secret"]["stringData"]
pod = docs["Deployment"]["spec"]["template"]["spec"]
ferry = [c for c in pod["initContainers"] if c["name"] == "ferry"][0]
assert ferry.get("restartPolicy") == "Always", "ferry is not a native sidecar"
mounts = {m["name"]: m["mountPath"] for m in ferry["volumeMounts"]}
secret_dir = mounts["secrets"]
refs = re.findall(r"\$\{file:([^}]+)\}", pipeline)
assert refs, "no ${file:} reference: secrets would be inline"
for r in refs:
    assert r.startswith(secret_dir + "/"), r
    assert os.path.basename(r) in secret, f"{r} is not a key of the Secret"
# The Secret's files where the pod mounts them, for `ferry validate`.
os.makedirs(f"{work}/secrets", exist_ok=True)
for k, v in secret.items():
    open(f"{work}/secrets/{k}", "w").write(v)
open(f"{work}/ferry.yaml", "w").write(pipeline.replace(secret_dir + "/", f"{work}/secrets/"))
worker = yaml.safe_load(pipeline)["worker"]
shutdown = worker.get("shutdown.timeout", "30s")
assert shutdown.endswith("s"), shutdown
assert pod["terminationGracePeriodSeconds"] > int(shutdown[:-1]), "grace period not above shutdown.timeout"
port = int(worker["rest"]["listen"].rsplit(":", 1)[1])
assert [p["containerPort"] for p in ferry["ports"] if p["name"] == "rest"] == [port]
assert ferry["livenessProbe"]["httpGet"]["path"] == "/health"
assert ferry["readinessProbe"]["httpGet"]["path"] == "/ready"
lim = ferry["resources"]["limits"]["memory"]
assert lim.endswith("Mi") and int(lim[:-2]) >= 64, lim
print("promises hold: refs", refs, "grace", pod["terminationGracePeriodSeconds"], "limit", lim)
PY
"$FERRY" validate "$WORK/ferry.yaml" >"$WORK/validate.out" 2>&1 || fail "the ConfigMap's pipeline: $(cat "$WORK/validate.out")"
grep -q "change-me" "$WORK/validate.out" && fail "validate printed a secret"
log "PASS"
