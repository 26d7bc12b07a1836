#!/usr/bin/env python3
"""Drives a running `drctl sim` with Oracle's own Python SDK (oci==2.189.0) and CLI.

Usage: sdk_smoke.py DIR   (DIR made by `drctl sim init`, with the simulator serving it)

Every SDK call goes through `service_endpoint=` from DIR/endpoints.json and the config
from DIR/config. Prints `PASS <operation>` per operation; exits non-zero on the first
failure. Set SIM_SKIP_CLI=1 to skip the oci-cli part.
"""
import base64
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

import oci
import requests

# The operations the simulator honours opc-retry-token on are those of this SDK.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import retry_token_ops  # noqa: E402

_listed = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "sim", "retry_token_operations.txt")
_current = [line.strip() for line in open(_listed) if line.strip() and not line.startswith("#")]
assert _current == retry_token_ops.operations(), \
    "src/sim/retry_token_operations.txt is not current: python3 tests/sim/retry_token_ops.py > it"

DIR = sys.argv[1]
CONFIG_FILE = os.path.join(DIR, "config")
cfg = oci.config.from_file(CONFIG_FILE)
eps = json.load(open(os.path.join(DIR, "endpoints.json")))
IAD = eps["us-ashburn-1"]
PHX = eps["us-phoenix-1"]
T = cfg["tenancy"]
M = oci.core.models
passed = []


def ok(name):
    passed.append(name)
    print("PASS", name, flush=True)


def wait_state(client, get_response, state):
    return oci.wait_until(client, get_response, "lifecycle_state", state, max_wait_seconds=30, max_interval_seconds=1)


def wait_wr(wr_client, wr_id):
    return oci.wait_until(wr_client, wr_client.get_work_request(wr_id), "status", "SUCCEEDED",
                          max_wait_seconds=30, max_interval_seconds=1)


def wait_gone(client, get_fn, rid):
    oci.wait_until(client, get_fn(rid), "lifecycle_state", "DELETED", succeed_on_not_found=True,
                   max_wait_seconds=30, max_interval_seconds=1)


# --- networking -------------------------------------------------------------------
vn = oci.core.VirtualNetworkClient(cfg, service_endpoint=IAD)
vcn = vn.create_vcn(M.CreateVcnDetails(cidr_block="10.0.0.0/16", compartment_id=T, display_name="sdk-vcn",
                                       dns_label="sdkvcn")).data
assert vcn.lifecycle_state == "PROVISIONING", vcn.lifecycle_state
ok("core.create_vcn")
vcn = wait_state(vn, vn.get_vcn(vcn.id), "AVAILABLE").data
ok("core.get_vcn (wait AVAILABLE)")
assert any(v.id == vcn.id for v in vn.list_vcns(T, display_name="sdk-vcn").data)
ok("core.list_vcns")
subnet = vn.create_subnet(M.CreateSubnetDetails(cidr_block="10.0.1.0/24", compartment_id=T, vcn_id=vcn.id,
                                                display_name="sdk-subnet")).data
subnet = wait_state(vn, vn.get_subnet(subnet.id), "AVAILABLE").data
ok("core.create_subnet + get_subnet")
assert [s.id for s in vn.list_subnets(T, vcn_id=vcn.id).data] == [subnet.id]
ok("core.list_subnets")
services = vn.list_services().data
sgw = vn.create_service_gateway(M.CreateServiceGatewayDetails(
    compartment_id=T, vcn_id=vcn.id, services=[M.ServiceIdRequestDetails(service_id=services[0].id)])).data
assert sgw.services[0].service_name == services[0].name
ok("core.list_services + create_service_gateway")
nsg = vn.create_network_security_group(M.CreateNetworkSecurityGroupDetails(compartment_id=T, vcn_id=vcn.id)).data
wait_state(vn, vn.get_network_security_group(nsg.id), "AVAILABLE")
vn.add_network_security_group_security_rules(nsg.id, M.AddNetworkSecurityGroupSecurityRulesDetails(security_rules=[
    M.AddSecurityRuleDetails(direction="INGRESS", protocol="6", source="0.0.0.0/0", source_type="CIDR_BLOCK")]))
rules = vn.list_network_security_group_security_rules(nsg.id).data
assert len(rules) == 1 and rules[0].direction == "INGRESS"
ok("core.add/list_network_security_group_security_rules")

# --- functions --------------------------------------------------------------------
fn = oci.functions.FunctionsManagementClient(cfg, service_endpoint=IAD)
fn_wr = oci.functions.WorkRequestManagementClient(cfg, service_endpoint=IAD)
F = oci.functions.models
resp = fn.create_application(F.CreateApplicationDetails(compartment_id=T, display_name="sdk-app", subnet_ids=[subnet.id]))
wr = wait_wr(fn_wr, resp.headers["opc-work-request-id"]).data
assert wr.resources[0].identifier == resp.data.id
app = fn.get_application(resp.data.id).data
assert app.lifecycle_state == "ACTIVE"
ok("functions.create_application (work request SUCCEEDED)")
assert [a.id for a in fn.list_applications(T, display_name="sdk-app").data] == [app.id]
ok("functions.list_applications")
namespace = oci.object_storage.ObjectStorageClient(cfg, service_endpoint=IAD).get_namespace().data


def push_image(repository, tag, layer):
    """Pushes a one-layer image to Ashburn's registry; returns its manifest digest."""
    blobs = [b'{"architecture":"amd64","os":"linux"}', layer]
    for blob in blobs:
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        r = requests.post(f"{IAD}/v2/{namespace}/{repository}/blobs/uploads/", params={"digest": digest}, data=blob)
        assert r.status_code == 201, r.text
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": "sha256:" + hashlib.sha256(blobs[0]).hexdigest(), "size": len(blobs[0])},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
                                       "size": len(layer)}]}).encode()
    r = requests.put(f"{IAD}/v2/{namespace}/{repository}/manifests/{tag}", data=manifest,
                     headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


hello1 = push_image("sdk/hello", "1", b"hello one")
hello2 = push_image("sdk/hello", "2", b"hello two")
# Functions runs images from its own region's registry only.
for elsewhere in ("registry.example.com/ns/hello:1", f"phx.ocir.io/{namespace}/sdk/hello:1"):
    try:
        fn.create_function(F.CreateFunctionDetails(
            display_name="sdk-fn-elsewhere", application_id=app.id, memory_in_mbs=256,
            source_details=F.CreateContainerImageFunctionSourceDetails(image=elsewhere)))
        raise AssertionError(f"a function with {elsewhere} was created")
    except oci.exceptions.ServiceError as e:
        assert e.status == 400 and e.code == "InvalidParameter", (e.status, e.code)
ok("functions.create_function refuses an image outside the region's registry (400)")
resp = fn.create_function(F.CreateFunctionDetails(
    display_name="sdk-fn", application_id=app.id, memory_in_mbs=256, timeout_in_seconds=60, config={"K": "V"},
    source_details=F.CreateContainerImageFunctionSourceDetails(image=f"iad.ocir.io/{namespace}/sdk/hello:1")))
wait_wr(fn_wr, resp.headers["opc-work-request-id"])
func = fn.get_function(resp.data.id).data
assert func.lifecycle_state == "ACTIVE" and func.memory_in_mbs == 256 and func.config == {"K": "V"}
assert func.source_details.image_digest == hello1, (func.source_details, hello1)
ok("functions.create_function + get_function")
assert [f.id for f in fn.list_functions(app.id).data] == [func.id]
ok("functions.list_functions")
inv = oci.functions.FunctionsInvokeClient(cfg, service_endpoint=func.invoke_endpoint)
out = json.loads(inv.invoke_function(func.id, invoke_function_body='{"hello": "world"}', fn_intent="httprequest").data.text)
assert out["functionId"] == func.id and out["request"] == {"hello": "world"} and out["region"] == "us-ashburn-1"
assert out["headers"]["fn-intent"] == "httprequest"
ok("functions.invoke_function")
upd = fn.update_function(func.id, F.UpdateFunctionDetails(memory_in_mbs=512))
wait_wr(fn_wr, upd.headers["opc-work-request-id"])
assert fn.get_function(func.id).data.memory_in_mbs == 512
ok("functions.update_function")
before = fn.get_function(func.id).data.source_details.image_digest
upd = fn.update_function(func.id, F.UpdateFunctionDetails(
    source_details=F.UpdateContainerImageFunctionSourceDetails(image=f"iad.ocir.io/{namespace}/sdk/hello:2")))
wait_wr(fn_wr, upd.headers["opc-work-request-id"])
moved = fn.get_function(func.id).data
assert moved.source_details.image == f"iad.ocir.io/{namespace}/sdk/hello:2", moved.source_details
assert before == hello1 and moved.source_details.image_digest == hello2 and moved.memory_in_mbs == 512
ok("functions.update_function (a new image through sourceDetails, with its own digest)")

# --- vault and secrets ----------------------------------------------------------------
K = oci.key_management.models
kv = oci.key_management.KmsVaultClient(cfg, service_endpoint=IAD)
vault = kv.create_vault(K.CreateVaultDetails(compartment_id=T, display_name="sdk-vault", vault_type="DEFAULT")).data
vault = wait_state(kv, kv.get_vault(vault.id), "ACTIVE").data
ok("kms.create_vault + get_vault")
km = oci.key_management.KmsManagementClient(cfg, service_endpoint=vault.management_endpoint)
key = km.create_key(K.CreateKeyDetails(compartment_id=T, display_name="sdk-key",
                                       key_shape=K.KeyShape(algorithm="AES", length=32))).data
key = wait_state(km, km.get_key(key.id), "ENABLED").data
ok("kms.create_key + get_key")
vs = oci.vault.VaultsClient(cfg, service_endpoint=IAD)
secret_text = "s3cr3t-value"
secret = vs.create_secret(oci.vault.models.CreateSecretDetails(
    compartment_id=T, secret_name="sdk-secret", vault_id=vault.id, key_id=key.id,
    secret_content=oci.vault.models.Base64SecretContentDetails(
        content_type="BASE64", content=base64.b64encode(secret_text.encode()).decode()))).data
secret = wait_state(vs, vs.get_secret(secret.id), "ACTIVE").data
ok("vault.create_secret + get_secret")
assert [s.id for s in vs.list_secrets(T, name="sdk-secret").data] == [secret.id]
ok("vault.list_secrets")
sc = oci.secrets.SecretsClient(cfg, service_endpoint=IAD)
bundle = sc.get_secret_bundle(secret.id).data
assert base64.b64decode(bundle.secret_bundle_content.content).decode() == secret_text
assert bundle.version_number == 1 and "CURRENT" in bundle.stages
ok("secrets.get_secret_bundle")
# A rotation in two steps: the new version waits as PENDING, then is promoted.
vs.update_secret(secret.id, oci.vault.models.UpdateSecretDetails(
    secret_content=oci.vault.models.Base64SecretContentDetails(
        content_type="BASE64", stage="PENDING", content=base64.b64encode(b"next-value").decode())))
wait_state(vs, vs.get_secret(secret.id), "ACTIVE")
assert sc.get_secret_bundle(secret.id).data.version_number == 1
staged = sc.get_secret_bundle(secret.id, stage="PENDING").data
assert (staged.version_number, sorted(staged.stages)) == (2, ["LATEST", "PENDING"]), staged
vs.update_secret(secret.id, oci.vault.models.UpdateSecretDetails(current_version_number=2))
wait_state(vs, vs.get_secret(secret.id), "ACTIVE")
current = sc.get_secret_bundle(secret.id).data
assert base64.b64decode(current.secret_bundle_content.content) == b"next-value"
assert sc.get_secret_bundle(secret.id, stage="PREVIOUS").data.version_number == 1
ok("vault.update_secret (PENDING, then promoted)")
named = sc.get_secret_bundle_by_name("sdk-secret", vault.id, stage="PREVIOUS").data
assert (named.secret_id, named.version_number) == (secret.id, 1), named
assert [v.version_number for v in sc.list_secret_bundle_versions(secret.id).data] == [1, 2]
assert [v.stages for v in vs.list_secret_versions(secret.id, sort_by="VERSION_NUMBER", sort_order="DESC").data] == [
    ["CURRENT", "LATEST"], ["PREVIOUS"]]
assert vs.get_secret_version(secret.id, 2).data.stages == ["CURRENT", "LATEST"]
ok("secrets.get_secret_bundle_by_name + list versions (secrets and vault)")
vs.schedule_secret_deletion(secret.id, oci.vault.models.ScheduleSecretDeletionDetails())
assert vs.get_secret(secret.id).data.lifecycle_state == "PENDING_DELETION"
ok("vault.schedule_secret_deletion")
# Key versions (rotation) and key states.
v2 = km.create_key_version(key.id).data
assert v2.key_id == key.id and v2.lifecycle_state == "ENABLED" and v2.id.startswith("ocid1.keyversion.")
assert km.get_key(key.id).data.current_key_version == v2.id
versions = km.list_key_versions(key.id, sort_by="TIMECREATED", sort_order="ASC").data
assert [v.id for v in versions][-1] == v2.id and len(versions) == 2, versions
assert km.get_key_version(key.id, v2.id).data.id == v2.id
ok("kms.create_key_version + list_key_versions + get_key_version")
assert km.disable_key(key.id).data.lifecycle_state in ("DISABLING", "DISABLED")
wait_state(km, km.get_key(key.id), "DISABLED")
try:
    km.create_key_version(key.id)
    raise AssertionError("a disabled key was rotated")
except oci.exceptions.ServiceError as e:
    assert e.status == 409 and e.code == "IncorrectState", e
km.schedule_key_deletion(key.id, K.ScheduleKeyDeletionDetails())
km.cancel_key_deletion(key.id)
assert km.get_key(key.id).data.lifecycle_state == "DISABLED"
assert km.enable_key(key.id).data.lifecycle_state in ("ENABLING", "ENABLED")
wait_state(km, km.get_key(key.id), "ENABLED")
ok("kms.disable_key + enable_key (deletion cancelled gives the state back)")

# --- monitoring: alarm status ---------------------------------------------------------
mon = oci.monitoring.MonitoringClient(cfg, service_endpoint=IAD)
Mo = oci.monitoring.models
alarm = mon.create_alarm(Mo.CreateAlarmDetails(
    display_name="sdk-alarm", compartment_id=T, metric_compartment_id=T, namespace="oci_faas",
    query="FunctionExecutionDuration[1m].mean() > 1000", severity="CRITICAL", destinations=[], is_enabled=True)).data
statuses = mon.list_alarms_status(T).data
assert [(s.id, s.status, s.severity) for s in statuses] == [(alarm.id, "OK", "CRITICAL")], statuses
now = datetime.datetime.now(datetime.timezone.utc)
mon.update_alarm(alarm.id, Mo.UpdateAlarmDetails(suppression=Mo.Suppression(
    time_suppress_from=now - datetime.timedelta(minutes=1), time_suppress_until=now + datetime.timedelta(hours=1))))
assert [s.status for s in mon.list_alarms_status(T).data] == ["SUSPENDED"]
assert mon.list_alarms_status(T, status="OK").data == []
ok("monitoring.list_alarms_status (OK, SUSPENDED while suppressed)")

# --- resource scheduler: deactivate and activate ---------------------------------------
rs = oci.resource_scheduler.ScheduleClient(cfg, service_endpoint=IAD)
R = oci.resource_scheduler.models
sched = rs.create_schedule(R.CreateScheduleDetails(
    compartment_id=T, display_name="sdk-schedule", action="STOP_RESOURCE", recurrence_type="CRON",
    recurrence_details="0 22 * * *", resources=[R.Resource(id=func.id)])).data
sched = wait_state(rs, rs.get_schedule(sched.id), "ACTIVE").data
assert rs.deactivate_schedule(sched.id).data.lifecycle_state == "INACTIVE"
try:
    rs.deactivate_schedule(sched.id)
    raise AssertionError("an INACTIVE schedule was deactivated again")
except oci.exceptions.ServiceError as e:
    assert e.status == 409, e
assert rs.activate_schedule(sched.id).data.lifecycle_state == "ACTIVE"
ok("resource_scheduler.deactivate_schedule + activate_schedule")

# --- artifacts: container images --------------------------------------------------------
art = oci.artifacts.ArtifactsClient(cfg, service_endpoint=IAD)
repo = art.create_container_repository(oci.artifacts.models.CreateContainerRepositoryDetails(
    compartment_id=T, display_name="sdk/img")).data
blobs = [b'{"architecture":"amd64","os":"linux"}', b"layer bytes"]
digests = []
for blob in blobs:
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    r = requests.post(f"{IAD}/v2/{namespace}/sdk/img/blobs/uploads/", params={"digest": digest}, data=blob)
    assert r.status_code == 201, r.text
    digests.append(digest)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digests[0],
                                  "size": len(blobs[0])},
                       "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digests[1],
                                   "size": len(blobs[1])}]}).encode()
for tag in ("1.0", "latest"):
    r = requests.put(f"{IAD}/v2/{namespace}/sdk/img/manifests/{tag}", data=manifest,
                     headers={"content-type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status_code == 201, r.text
images = art.list_container_images(T, repository_id=repo.id).data.items
image_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
assert [(i.digest, i.version, i.display_name) for i in images] == [(image_digest, "latest", "sdk/img:latest")], images
image = art.get_container_image(images[0].id).data
assert sorted(v.version for v in image.versions) == ["1.0", "latest"], image.versions
assert image.manifest_size_in_bytes == len(manifest) and image.layers_size_in_bytes == len(blobs[1])
assert art.list_container_images(T, repository_name="sdk/img", version="1.0").data.items[0].id == image.id
assert art.list_container_images(T, repository_name="other").data.items == []
ok("artifacts.list_container_images + get_container_image")

# --- API gateway ----------------------------------------------------------------------
A = oci.apigateway.models
gw_client = oci.apigateway.GatewayClient(cfg, service_endpoint=IAD)
dep_client = oci.apigateway.DeploymentClient(cfg, service_endpoint=IAD)
ag_wr = oci.apigateway.WorkRequestsClient(cfg, service_endpoint=IAD)
resp = gw_client.create_gateway(A.CreateGatewayDetails(compartment_id=T, endpoint_type="PUBLIC", subnet_id=subnet.id,
                                                       display_name="sdk-gw"))
wait_wr(ag_wr, resp.headers["opc-work-request-id"])
gw = gw_client.get_gateway(resp.data.id).data
assert gw.lifecycle_state == "ACTIVE" and gw.hostname
ok("apigateway.create_gateway + get_gateway (work request)")
assert [g.id for g in gw_client.list_gateways(T).data.items] == [gw.id]
ok("apigateway.list_gateways")
spec = A.ApiSpecification(
    request_policies=A.ApiSpecificationRequestPolicies(cors=A.CorsPolicy(
        allowed_origins=["https://app.example"], allowed_methods=["GET", "POST"], allowed_headers=["content-type"],
        max_age_in_seconds=600)),
    routes=[
        A.ApiSpecificationRoute(path="/hello/{name}", methods=["GET", "POST"],
                                backend=A.OracleFunctionBackend(function_id=func.id)),
        A.ApiSpecificationRoute(path="/health", methods=["GET"],
                                backend=A.StockResponseBackend(status=200, body="up",
                                                               headers=[A.HeaderFieldSpecification(name="x-sim", value="1")])),
    ])
resp = dep_client.create_deployment(A.CreateDeploymentDetails(gateway_id=gw.id, compartment_id=T, path_prefix="/v1",
                                                              specification=spec, display_name="sdk-dep"))
wait_wr(ag_wr, resp.headers["opc-work-request-id"])
dep = dep_client.get_deployment(resp.data.id).data
assert dep.lifecycle_state == "ACTIVE" and dep.endpoint == f"https://{gw.hostname}/v1"
ok("apigateway.create_deployment + get_deployment (work request)")
assert [d.id for d in dep_client.list_deployments(T, gateway_id=gw.id).data.items] == [dep.id]
ok("apigateway.list_deployments")
r = requests.post(IAD + "/v1/hello/ada", headers={"Host": gw.hostname, "Origin": "https://app.example"}, json={"a": 1})
assert r.status_code == 200 and r.json()["pathParams"] == {"name": "ada"} and r.json()["functionId"] == func.id, r.text
assert r.headers["access-control-allow-origin"] == "https://app.example"
r = requests.get(IAD + "/v1/health", headers={"Host": gw.hostname})
assert (r.status_code, r.text, r.headers["x-sim"]) == (200, "up", "1")
r = requests.options(IAD + "/v1/hello/x", headers={"Host": gw.hostname, "Origin": "https://app.example",
                                                    "Access-Control-Request-Method": "POST"})
assert r.status_code == 204 and r.headers["access-control-max-age"] == "600"
assert requests.delete(IAD + "/v1/health", headers={"Host": gw.hostname}).status_code == 405
ok("apigateway runtime: function route, stock response, CORS preflight, 405")

# --- events ---------------------------------------------------------------------------
E = oci.events.models
ev = oci.events.EventsClient(cfg, service_endpoint=IAD)
rule = ev.create_rule(E.CreateRuleDetails(
    display_name="sdk-rule", is_enabled=True, compartment_id=T,
    condition='{"eventType": ["com.oraclecloud.objectstorage.createobject"]}',
    actions=E.ActionDetailsList(actions=[E.CreateFaaSActionDetails(action_type="FAAS", is_enabled=True,
                                                                   function_id=func.id)]))).data
rule = wait_state(ev, ev.get_rule(rule.id), "ACTIVE").data
assert rule.actions.actions[0].function_id == func.id
ok("events.create_rule + get_rule")
assert [x.id for x in ev.list_rules(T).data] == [rule.id]
ok("events.list_rules")

# --- identity: home region only, replicated reads ---------------------------------------------
idn = oci.identity.IdentityClient(cfg, service_endpoint=IAD)
comp = idn.create_compartment(oci.identity.models.CreateCompartmentDetails(
    compartment_id=T, name="sdk-comp", description="from the SDK")).data
ok("identity.create_compartment (home region)")
idn_phx = oci.identity.IdentityClient(cfg, service_endpoint=PHX)
assert idn_phx.get_compartment(comp.id).data.name == "sdk-comp"
ok("identity.get_compartment (replicated to us-phoenix-1)")
try:
    idn_phx.create_compartment(oci.identity.models.CreateCompartmentDetails(
        compartment_id=T, name="sdk-comp-2", description="x"))
    raise AssertionError("identity write outside the home region was accepted")
except oci.exceptions.ServiceError as e:
    assert (e.status, e.code) == (403, "NotAllowed"), (e.status, e.code)
ok("identity.create_compartment outside home region refused (403 NotAllowed)")
wait_state(idn, idn.get_compartment(comp.id), "ACTIVE")
inner = idn.create_compartment(oci.identity.models.CreateCompartmentDetails(
    compartment_id=comp.id, name="sdk-inner", description="inside sdk-comp")).data
try:
    idn.delete_compartment(comp.id)
    raise AssertionError("a compartment holding a compartment was deleted")
except oci.exceptions.ServiceError as e:
    assert (e.status, e.code) == (409, "Conflict"), (e.status, e.code)
wait_state(idn, idn.get_compartment(inner.id), "ACTIVE")
wait_wr(idn, idn.delete_compartment(inner.id).headers["opc-work-request-id"])
ok("identity.delete_compartment (409 while not empty, then a work request)")

# --- bad signature ----------------------------------------------------------------------
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
bad_signer = oci.signer.Signer(T, cfg["user"], cfg["fingerprint"], None, private_key_content=other)
bad = oci.core.VirtualNetworkClient(cfg, signer=bad_signer, service_endpoint=IAD)
try:
    bad.get_vcn(vcn.id)
    raise AssertionError("a tampered signature was accepted")
except oci.exceptions.ServiceError as e:
    assert (e.status, e.code) == (401, "NotAuthenticated"), (e.status, e.code)
ok("tampered signature refused (401 NotAuthenticated)")

# --- deletes ----------------------------------------------------------------------------
ev.delete_rule(rule.id)
wait_gone(ev, ev.get_rule, rule.id)
ok("events.delete_rule")
wait_wr(ag_wr, dep_client.delete_deployment(dep.id).headers["opc-work-request-id"])
ok("apigateway.delete_deployment (work request)")
wait_wr(ag_wr, gw_client.delete_gateway(gw.id).headers["opc-work-request-id"])
ok("apigateway.delete_gateway (work request)")
try:
    fn.delete_application(app.id)
    raise AssertionError("an application with functions was deleted")
except oci.exceptions.ServiceError as e:
    assert (e.status, e.code) == (409, "Conflict"), (e.status, e.code)
ok("functions.delete_application with functions refused (409 Conflict)")
wait_wr(fn_wr, fn.delete_function(func.id).headers["opc-work-request-id"])
wait_gone(fn, fn.get_function, func.id)
ok("functions.delete_function (work request)")
wait_wr(fn_wr, fn.delete_application(app.id).headers["opc-work-request-id"])
ok("functions.delete_application (work request)")
vn.delete_service_gateway(sgw.id)
vn.delete_network_security_group(nsg.id)
for getter, rid in [(vn.get_service_gateway, sgw.id), (vn.get_network_security_group, nsg.id)]:
    oci.wait_until(vn, getter(rid), "lifecycle_state", "TERMINATED", succeed_on_not_found=True, max_wait_seconds=30)
vn.delete_subnet(subnet.id)
oci.wait_until(vn, vn.get_subnet(subnet.id), "lifecycle_state", "TERMINATED", succeed_on_not_found=True, max_wait_seconds=30)
ok("core.delete_subnet")
vn.delete_vcn(vcn.id)
oci.wait_until(vn, vn.get_vcn(vcn.id), "lifecycle_state", "TERMINATED", succeed_on_not_found=True, max_wait_seconds=30)
ok("core.delete_vcn")

# --- oci CLI ----------------------------------------------------------------------------
if os.environ.get("SIM_SKIP_CLI") != "1":
    cli = shutil.which("oci")
    if cli is None:
        raise AssertionError("oci CLI not found (pip install oci-cli; SIM_SKIP_CLI=1 to skip)")
    # The bare base URL: oci-cli appends each service's own version path to it.
    base = [cli, "--config-file", CONFIG_FILE, "--endpoint", IAD, "--no-retry"]
    env = dict(os.environ, OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING="True")

    def run(*args):
        out = subprocess.run(base + list(args), capture_output=True, text=True, env=env, timeout=120)
        if out.returncode != 0:
            raise AssertionError(f"oci {' '.join(args)} failed: {out.stderr}")
        return json.loads(out.stdout) if out.stdout.strip() else None

    created = run("network", "vcn", "create", "--compartment-id", T, "--cidr-block", "10.9.0.0/16",
                  "--display-name", "cli-vcn")["data"]
    ok("oci network vcn create")
    assert run("network", "vcn", "get", "--vcn-id", created["id"])["data"]["display-name"] == "cli-vcn"
    ok("oci network vcn get")
    listed = run("network", "vcn", "list", "--compartment-id", T, "--display-name", "cli-vcn")["data"]
    assert [v["id"] for v in listed] == [created["id"]]
    ok("oci network vcn list")
    run("network", "vcn", "delete", "--vcn-id", created["id"], "--force")
    ok("oci network vcn delete")
    listed_app = fn.create_application(F.CreateApplicationDetails(compartment_id=T, display_name="cli-listed"))
    wait_wr(fn_wr, listed_app.headers["opc-work-request-id"])
    apps = run("fn", "application", "list", "--compartment-id", T, "--display-name", "cli-listed")
    assert [a["id"] for a in apps["data"]] == [listed_app.data.id], apps
    wait_wr(fn_wr, fn.delete_application(listed_app.data.id).headers["opc-work-request-id"])
    ok("oci fn application list")
    gone = run("iam", "compartment", "delete", "--compartment-id", comp.id, "--force",
               "--wait-for-state", "SUCCEEDED", "--wait-interval-seconds", "1")
    assert gone["data"]["status"] == "SUCCEEDED" and gone["data"]["operation-type"] == "DELETE_COMPARTMENT", gone
    ok("oci iam compartment delete --wait-for-state SUCCEEDED")

print(f"ALL PASSED ({len(passed)} operations)")
