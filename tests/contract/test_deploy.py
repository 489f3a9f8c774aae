"""Deployment artefacts hold together: the image recipe, docker-compose.yml and deploy/k8s.

No Docker engine or cluster is needed: files are parsed, kustomize overlays are rendered with
`kustomize build` or `kubectl kustomize` when one is installed, and every workload is checked for
the hardening, probes and wiring that docs/deploy.md promises.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices

from marque_kit.settings import ServiceSettings

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = DEPLOY / "docker" / "service.Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
OVERLAYS = ("dev", "production")
HTTP_PORT, GRPC_PORT = 8000, 50051
SECRET_NAME = "marque-secrets"
SENSITIVE = re.compile(r"SECRET|PASSWORD|_KEY$|DATABASE_URL|AMQP_URL|REDIS_URL")
PHASE_LABEL = "marque.io/phase"
# The gateway is the front door: HTTP only (it is a gRPC client, never a server), its sources
# outside services/, and published on 8080 (DESIGN.md §10).
GATEWAY = "gateway"
HTTP_ONLY = {GATEWAY}
# Services that reach a provider on the internet (443): crm's notifier (SMS / WeChat).
INTERNET_EGRESS = {"crm"}
SOURCE_DIRS = {GATEWAY: "gateway"}

Doc = dict[str, Any]


# ---- helpers -----------------------------------------------------------------------------------


def load_docs(path: Path) -> list[Doc]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def yaml_files() -> list[Path]:
    found = [p for p in sorted(DEPLOY.rglob("*")) if p.suffix in (".yaml", ".yml")]
    return [*found, COMPOSE]


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for p in K8S.rglob("kustomization.yaml"))


def base_services() -> list[str]:
    """Services with a file in the base: the names of its Deployments."""
    names = []
    for path in sorted((K8S / "base").glob("*.yaml")):
        names += [d["metadata"]["name"] for d in load_docs(path) if d.get("kind") == "Deployment"]
    return names


def source_dir(service: str) -> str:
    """Where the service's package lives in the repository (the image's SERVICE_DIR)."""
    return SOURCE_DIRS.get(service, f"services/{service}")


def config_map(docs: tuple[Doc, ...] | list[Doc], name: str) -> Doc:
    """A generated ConfigMap by its base name (kustomize appends a content hash)."""
    matches = [
        d
        for d in of_kind(docs, "ConfigMap")
        if re.fullmatch(rf"{re.escape(name)}(-[a-z0-9]{{10}})?", d["metadata"]["name"])
    ]
    assert len(matches) == 1, f"expected one ConfigMap {name}, found {len(matches)}"
    return matches[0]


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@cache
def render(path: Path) -> tuple[Doc, ...]:
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed; overlays are not rendered")
    result = subprocess.run(
        [*command, str(path)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, f"kustomize build {path} failed:\n{result.stderr}"
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d is not None)


def of_kind(docs: tuple[Doc, ...] | list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d.get("kind") == kind]


def named(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str) -> Doc:
    matches = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        value, op = labels.get(expr["key"]), expr["operator"]
        held = {
            "In": value in expr.get("values", []),
            "NotIn": value not in expr.get("values", []),
            "Exists": value is not None,
            "DoesNotExist": value is None,
        }[op]
        if not held:
            return False
    return True


def settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"marque_{service}.settings")
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj is not ServiceSettings
        and obj.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"marque_{service}.settings should define one settings class"
    return classes[0]


def env_names_read(service: str) -> set[str]:
    """Every MARQUE_* variable the service's settings read."""
    cls = settings_class(service)
    prefix = str(cls.model_config.get("env_prefix", ""))
    names = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {str(c).upper() for c in alias.choices if str(c).upper().startswith("MARQUE_")}
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


# ---- every file parses, every reference resolves -----------------------------------------------


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_yaml_file_parses(path: Path) -> None:
    docs = load_docs(path)
    assert docs, f"{path} is empty"
    assert all(isinstance(d, dict) for d in docs)


@pytest.mark.parametrize("kdir", kustomization_dirs(), ids=lambda p: str(p.relative_to(K8S)))
def test_kustomization_lists_existing_files_and_every_file_is_listed(kdir: Path) -> None:
    (kust,) = load_docs(kdir / "kustomization.yaml")
    listed: set[Path] = set()
    for entry in kust.get("resources", []):
        target = (kdir / entry).resolve()
        assert target.exists(), f"{kdir}: resource {entry} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{entry} is no kustomization"
        listed.add(target)
    for entry in kust.get("components", []):
        (component,) = load_docs((kdir / entry / "kustomization.yaml").resolve())
        assert component["kind"] == "Component", f"{entry} is listed as a component but is not one"
    for patch in kust.get("patches", []):
        if "path" in patch:
            target = (kdir / patch["path"]).resolve()
            assert target.exists(), f"{kdir}: patch {patch['path']} does not exist"
            listed.add(target)
    # A manifest nobody lists is silently never deployed.
    for path in kdir.glob("*.yaml"):
        if path.name != "kustomization.yaml":
            assert path.resolve() in listed, f"{path.relative_to(K8S)} is not listed in {kdir}"


# ---- workloads in every rendered overlay -------------------------------------------------------


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, tuple[Doc, ...]]:
    return request.param, render(K8S / "overlays" / request.param)


def check_pod_hardening(where: str, workload: Doc) -> None:
    spec = pod_spec(workload)
    pod_sc = spec.get("securityContext", {})
    assert pod_sc.get("runAsNonRoot") is True, where
    assert pod_sc.get("runAsUser") == 10001, f"{where}: the image's uid is 10001"
    assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", where
    assert spec.get("automountServiceAccountToken") is False, where
    tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
    for container in spec["containers"]:
        sc = container.get("securityContext", {})
        assert sc.get("allowPrivilegeEscalation") is False, where
        assert sc.get("readOnlyRootFilesystem") is True, where
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
        for kind in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(container.get("resources", {}).get(kind, {})), (
                f"{where}: {container['name']} lacks {kind}"
            )
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp must be an emptyDir"


def check_env(where: str, workload: Doc, docs: tuple[Doc, ...], service: str) -> None:
    """Secrets come from marque-secrets by key; every name is one the settings read."""
    (container,) = pod_spec(workload)["containers"]
    names = set()
    for var in container.get("env", []):
        names.add(var["name"])
        if SENSITIVE.search(var["name"]):
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            assert ref == {"name": SECRET_NAME, "key": var["name"]}, (
                f"{where}: {var['name']} must come from secret {SECRET_NAME}"
            )
    for source in container.get("envFrom", []):
        assert "secretRef" not in source, f"{where}: name each secret key (least privilege)"
        config = named(docs, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config["data"])
    unknown = {n for n in names if n.startswith("MARQUE_")} - env_names_read(service)
    assert not unknown, f"{where}: settings of {service} read no {sorted(unknown)}"


def test_no_secret_is_committed(overlay: tuple[str, tuple[Doc, ...]]) -> None:
    name, docs = overlay
    assert not of_kind(docs, "Secret"), f"{name}: secrets are created out of band"
    for config in of_kind(docs, "ConfigMap"):
        leaked = [k for k in config.get("data", {}) if SENSITIVE.search(k)]
        assert not leaked, f"{name}: {leaked} belong in {SECRET_NAME}"


@pytest.mark.parametrize("service", base_services())
def test_service_deployment_is_hardened_probed_and_wired(
    overlay: tuple[str, tuple[Doc, ...]], service: str
) -> None:
    name, docs = overlay
    where = f"{name}/Deployment/{service}"
    deployment = named(docs, "Deployment", service)
    check_pod_hardening(where, deployment)
    check_env(where, deployment, docs, service)
    spec = pod_spec(deployment)
    named(docs, "ServiceAccount", spec["serviceAccountName"])
    (container,) = spec["containers"]
    assert container["args"] == ["serve", service]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    serves_grpc = service not in HTTP_ONLY
    assert ports == ({"http": HTTP_PORT, "grpc": GRPC_PORT} if serves_grpc else {"http": HTTP_PORT})
    env = {v["name"]: v.get("value") for v in container["env"]}
    prefix = f"MARQUE_{service.upper()}_"
    assert env[f"{prefix}HTTP_HOST"] == "0.0.0.0"
    assert env[f"{prefix}HTTP_PORT"] == str(HTTP_PORT)
    if serves_grpc:
        assert env[f"{prefix}GRPC_PORT"] == str(GRPC_PORT)
        assert container["startupProbe"]["grpc"]["port"] == GRPC_PORT
    else:
        # No gRPC health service to ask: the startup probe waits for HTTP instead.
        assert f"{prefix}GRPC_PORT" not in env
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert ports.get(container["startupProbe"]["httpGet"]["port"], 0) == HTTP_PORT
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert ports.get(container[probe]["httpGet"]["port"], 0) == HTTP_PORT
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(HTTP_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"

    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selects(deployment["spec"]["selector"], pod_labels)
    svc = named(docs, "Service", service)
    assert selects({"matchLabels": svc["spec"]["selector"]}, pod_labels)
    assert svc["spec"]["type"] == "ClusterIP"
    assert {(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]} == (
        {("http", HTTP_PORT, "http"), ("grpc", GRPC_PORT, "grpc")}
        if serves_grpc
        else {("http", HTTP_PORT, "http")}
    )


@pytest.mark.parametrize("service", base_services())
def test_migration_job_runs_the_same_image_as_its_service(
    overlay: tuple[str, tuple[Doc, ...]], service: str
) -> None:
    name, docs = overlay
    job = named(docs, "Job", f"{service}-migrate")
    where = f"{name}/Job/{service}-migrate"
    check_pod_hardening(where, job)
    check_env(where, job, docs, service)
    spec = pod_spec(job)
    assert spec["restartPolicy"] == "Never"
    (container,) = spec["containers"]
    assert container["args"] == ["migrate", service]
    (server,) = pod_spec(named(docs, "Deployment", service))["containers"]
    assert container["image"] == server["image"]


def test_migrate_phase_carries_everything_the_jobs_need(
    overlay: tuple[str, tuple[Doc, ...]],
) -> None:
    """`kubectl apply -l marque.io/phase=migrate` must yield Jobs that can start on their own."""
    name, docs = overlay
    phase = [d for d in docs if d["metadata"].get("labels", {}).get(PHASE_LABEL) == "migrate"]
    kinds = {(d["kind"], d["metadata"]["name"]) for d in phase}
    assert of_kind(phase, "Namespace"), f"{name}: the namespace must come first"
    jobs = of_kind(phase, "Job")
    assert {j["metadata"]["name"] for j in jobs} == {f"{s}-migrate" for s in base_services()}
    for job in jobs:
        spec = pod_spec(job)
        assert ("ServiceAccount", spec["serviceAccountName"]) in kinds
        for source in spec["containers"][0].get("envFrom", []):
            assert ("ConfigMap", source["configMapRef"]["name"]) in kinds
    assert not of_kind(phase, "Deployment"), "services start only after their migration"


# Stand-ins for what the secret holds, shaped as the settings expect (32+ characters for keys).
SECRET_STAND_INS = {
    "DATABASE_URL": "postgresql+asyncpg://svc:pw@db.example:5432/marque_{service}",
    "AMQP_URL": "amqp://svc:pw@mq.example:5672/",
    "REDIS_URL": "redis://:pw@redis.example:6379/0",
    "NOTIFY_URL": "https://sms.example/send?token=pw",
}


def rendered_environment(docs: tuple[Doc, ...], workload: Doc, service: str) -> dict[str, str]:
    """The environment the container starts with, secrets replaced by stand-ins."""
    (container,) = pod_spec(workload)["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env |= named(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
            continue
        key = var["valueFrom"]["secretKeyRef"]["key"]
        stand_in = next((v for k, v in SECRET_STAND_INS.items() if key.endswith(k)), "s" * 40)
        env[var["name"]] = stand_in.format(service=service)
    return env


def service_ports(docs: tuple[Doc, ...], name: str) -> set[int]:
    return {p["port"] for p in named(docs, "Service", name)["spec"]["ports"]}


@pytest.mark.parametrize("service", base_services())
def test_settings_load_from_the_rendered_environment(
    overlay: tuple[str, tuple[Doc, ...]], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pod's settings validate (production refuses dev secrets); the gateway finds every
    service it routes to by its Service name and port."""
    name, docs = overlay

    def load(workload: Doc) -> ServiceSettings:
        for key in [k for k in os.environ if k.startswith("MARQUE_")]:
            monkeypatch.delenv(key)
        for key, value in rendered_environment(docs, workload, service).items():
            monkeypatch.setenv(key, value)
        return settings_class(service)()

    load(named(docs, "Job", f"{service}-migrate"))
    settings = load(named(docs, "Deployment", service))
    assert settings.env == ("development" if name == "dev" else "production")
    if service != GATEWAY:
        return
    upstreams, grpc_upstreams = settings.upstreams, settings.grpc_upstreams  # type: ignore[attr-defined]
    routed = set(base_services()) - {GATEWAY}
    assert set(upstreams) == routed, "the gateway must route to every deployed service"
    assert set(grpc_upstreams) == routed
    for upstream in routed:
        url = urlsplit(upstreams[upstream])
        assert (url.scheme, url.hostname) == ("http", upstream)
        assert url.port in service_ports(docs, upstream)
        host, _, port = grpc_upstreams[upstream].rpartition(":")
        assert host == upstream and int(port) == GRPC_PORT in service_ports(docs, upstream)
    if name == "production":
        assert settings.trusted_proxies, "behind the Ingress, trust its forwarded client address"  # type: ignore[attr-defined]
        for network in settings.trusted_proxies:  # type: ignore[attr-defined]
            ipaddress.ip_network(network)
        assert all(o.startswith("https://") for o in settings.cors_origins)  # type: ignore[attr-defined]


# ---- what differs between the overlays ---------------------------------------------------------


def test_dev_overlay_runs_one_dev_replica_without_network_policies() -> None:
    docs = render(K8S / "overlays" / "dev")
    assert not of_kind(docs, "NetworkPolicy")
    for service in base_services():
        deployment = named(docs, "Deployment", service)
        assert deployment["spec"]["replicas"] == 1
        assert pod_spec(deployment)["containers"][0]["image"] == f"marque/{service}:dev"
    assert config_map(docs, "marque-config")["data"]["MARQUE_ENV"] == "development"


@pytest.mark.parametrize("service", base_services())
def test_production_overlay_scales_spreads_and_protects_every_service(service: str) -> None:
    docs = render(K8S / "overlays" / "production")
    deployment = named(docs, "Deployment", service)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    # The autoscaler owns the count; a replicas field would reset it on every apply.
    assert "replicas" not in deployment["spec"]
    hpa = named(docs, "HorizontalPodAutoscaler", service)
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": service,
    }
    assert hpa["spec"]["minReplicas"] >= 3
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    pdb = named(docs, "PodDisruptionBudget", service)
    assert selects(pdb["spec"]["selector"], labels)
    spread = pod_spec(deployment)["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    assert all(selects(c["labelSelector"], labels) for c in spread)
    assert config_map(docs, "marque-config")["data"]["MARQUE_ENV"] == "production"
    (namespace,) = of_kind(docs, "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_production_images_are_pinned() -> None:
    docs = render(K8S / "overlays" / "production")
    for workload in [*of_kind(docs, "Deployment"), *of_kind(docs, "Job")]:
        for container in pod_spec(workload)["containers"]:
            image = container["image"]
            tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
            assert tag and tag not in ("latest", "dev"), f"{image} is not a release tag"


def policies_for(docs: tuple[Doc, ...], labels: dict[str, str], kind: str) -> list[Doc]:
    return [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if kind in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], labels)
    ]


def ingress_ports_from(policies: list[Doc], caller: dict[str, str]) -> set[int]:
    ports: set[int] = set()
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            if "from" not in rule:  # no peers listed: anyone, in the cluster or outside it
                ports |= {p["port"] for p in rule["ports"]}
                continue
            # Peers with a namespaceSelector or ipBlock are not pods of this namespace.
            peers = [p["podSelector"] for p in rule["from"] if set(p) == {"podSelector"}]
            if any(selects(peer, caller) for peer in peers):
                ports |= {p["port"] for p in rule["ports"]}
    return ports


def test_production_network_policies_admit_only_real_callers() -> None:
    docs = render(K8S / "overlays" / "production")
    deny = [p for p in of_kind(docs, "NetworkPolicy") if p["spec"]["podSelector"] == {}]
    assert deny and set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny[0]["spec"] and "egress" not in deny[0]["spec"]

    inventory = named(docs, "Deployment", "inventory")
    ingress = policies_for(docs, inventory["spec"]["template"]["metadata"]["labels"], "Ingress")
    assert ingress_ports_from(ingress, {"app": "gateway"}) == {HTTP_PORT, GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "sales"}) == {GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "aftersales"}) == {GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "reporting"}) == set()

    # Finance: RecordReceipt from sales and aftersales; reporting learns only from its events.
    finance = named(docs, "Deployment", "finance")
    ingress = policies_for(docs, finance["spec"]["template"]["metadata"]["labels"], "Ingress")
    assert ingress_ports_from(ingress, {"app": "gateway"}) == {HTTP_PORT, GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "sales"}) == {GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "aftersales"}) == {GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "reporting"}) == set()
    assert ingress_ports_from(ingress, {"app": "inventory"}) == set()

    # CRM: GetCustomerSummary from the gateway (customer 360), FindOrCreateCustomer / GetCustomer
    # from sales and aftersales; reporting and finance learn about customers only from events.
    crm = named(docs, "Deployment", "crm")
    ingress = policies_for(docs, crm["spec"]["template"]["metadata"]["labels"], "Ingress")
    assert ingress_ports_from(ingress, {"app": "gateway"}) == {HTTP_PORT, GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "sales"}) == {GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "aftersales"}) == {GRPC_PORT}
    assert ingress_ports_from(ingress, {"app": "reporting"}) == set()
    assert ingress_ports_from(ingress, {"app": "finance"}) == set()
    assert ingress_ports_from(ingress, {"app": "inventory"}) == set()

    # Every Marque pod, the migration Jobs included, may resolve names and reach its datastores.
    for workload in [*of_kind(docs, "Deployment"), *of_kind(docs, "Job")]:
        labels = workload["spec"]["template"]["metadata"]["labels"]
        egress_ports = {
            port["port"]
            for policy in policies_for(docs, labels, "Egress")
            for rule in policy["spec"].get("egress", [])
            for port in rule.get("ports", [])
        }
        assert {53, 5432, 5672} <= egress_ports, workload["metadata"]["name"]


def egress_allows(
    policies: list[Doc], port: int, *, pod: dict[str, str] | None = None, ip: str | None = None
) -> bool:
    """Whether an egress rule admits `port` to a pod of this namespace with labels `pod`, or to
    the address `ip` outside the cluster."""
    for policy in policies:
        for rule in policy["spec"].get("egress", []):
            if port not in {p["port"] for p in rule.get("ports", [])}:
                continue
            if "to" not in rule:
                return True
            for peer in rule["to"]:
                is_pod = pod is not None and set(peer) == {"podSelector"}
                if is_pod and selects(peer["podSelector"], pod or {}):
                    return True
                if ip is not None and "ipBlock" in peer:
                    block, address = peer["ipBlock"], ipaddress.ip_address(ip)
                    network = ipaddress.ip_network(block["cidr"])
                    if address.version != network.version or address not in network:
                        continue
                    if not any(address in ipaddress.ip_network(e) for e in block.get("except", [])):
                        return True
    return False


def test_production_gateway_is_the_open_door_and_reaches_only_what_it_needs() -> None:
    docs = render(K8S / "overlays" / "production")
    gateway = named(docs, "Deployment", GATEWAY)["spec"]["template"]["metadata"]["labels"]
    inventory = named(docs, "Deployment", "inventory")["spec"]["template"]["metadata"]["labels"]

    # Ingress: anyone (the ingress controller, other namespaces, Prometheus), on 8000 only.
    ingress = policies_for(docs, gateway, "Ingress")
    assert ingress_ports_from(ingress, {}) == {HTTP_PORT}
    assert ingress_ports_from(ingress, {"app": "inventory"}) == {HTTP_PORT}
    # ...and inventory admits the gateway on both of its ports.
    inv_ingress = policies_for(docs, inventory, "Ingress")
    assert ingress_ports_from(inv_ingress, gateway) == {HTTP_PORT, GRPC_PORT}

    egress = policies_for(docs, gateway, "Egress")
    assert egress_allows(egress, HTTP_PORT, pod=inventory)
    assert egress_allows(egress, GRPC_PORT, pod=inventory)
    for port in (53, 5432, 5672, 6379):
        assert egress_allows(egress, port, ip="198.51.100.7"), port
    # Partner webhooks go out on 443 to the internet, never to the cluster or cloud metadata.
    assert egress_allows(egress, 443, ip="93.184.216.34")
    assert egress_allows(egress, 443, ip="2606:2800:220:1::1")
    for internal in ("10.0.0.1", "172.20.0.5", "192.168.1.1", "169.254.169.254", "127.0.0.1"):
        assert not egress_allows(egress, 443, ip=internal), internal
    assert not egress_allows(egress, 443, pod=inventory)
    assert not egress_allows(egress, 80, ip="93.184.216.34")

    # The services themselves get no internet (but crm's notifier: its SMS / WeChat provider) and
    # no Redis.
    for service in set(base_services()) - {GATEWAY}:
        labels = named(docs, "Deployment", service)["spec"]["template"]["metadata"]["labels"]
        assert policies_for(docs, labels, "Ingress"), f"{service} needs an ingress policy"
        service_egress = policies_for(docs, labels, "Egress")
        if service in INTERNET_EGRESS:
            assert egress_allows(service_egress, 443, ip="93.184.216.34"), service
            for internal in ("10.0.0.1", "169.254.169.254", "127.0.0.1"):
                assert not egress_allows(service_egress, 443, ip=internal), (service, internal)
            assert not egress_allows(service_egress, 80, ip="93.184.216.34"), service
        else:
            assert not egress_allows(service_egress, 443, ip="93.184.216.34"), service
        assert not egress_allows(service_egress, 6379, ip="198.51.100.7"), service
        assert not egress_allows(service_egress, HTTP_PORT, pod=gateway), service


def test_production_ingress_exposes_only_the_gateway_over_tls() -> None:
    docs = render(K8S / "overlays" / "production")
    (ingress,) = of_kind(docs, "Ingress")
    assert ingress["apiVersion"] == "networking.k8s.io/v1"
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts
    tls_hosts = {h for entry in ingress["spec"]["tls"] for h in entry["hosts"]}
    assert hosts <= tls_hosts, "every host is served over TLS"
    assert all(entry.get("secretName") for entry in ingress["spec"]["tls"])
    gateway_ports = {p["name"] for p in named(docs, "Service", GATEWAY)["spec"]["ports"]}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == GATEWAY
            assert backend["port"]["name"] in gateway_ports
    # Everything else stays inside the cluster.
    assert all(s["spec"].get("type", "ClusterIP") == "ClusterIP" for s in of_kind(docs, "Service"))
    assert not of_kind(render(K8S / "overlays" / "dev"), "Ingress")


def test_service_monitor_component_scrapes_every_service(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        json.dumps(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                # kustomize takes only relative roots.
                "resources": [os.path.relpath(K8S / "base", tmp_path)],
                "components": [os.path.relpath(K8S / "components" / "service-monitor", tmp_path)],
            }
        )
    )
    docs = render(tmp_path)
    (monitor,) = of_kind(docs, "ServiceMonitor")
    for service in of_kind(docs, "Service"):
        assert selects(monitor["spec"]["selector"], service["metadata"]["labels"])
        port_names = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in monitor["spec"]["endpoints"]} <= port_names
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"


# ---- docker-compose.yml ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> Doc:
    (doc,) = load_docs(COMPOSE)
    return doc


def test_compose_runs_the_infrastructure_design_names(compose: Doc) -> None:
    services = compose["services"]
    assert services["postgres"]["image"] == "postgres:15"
    assert services["rabbitmq"]["image"] == "rabbitmq:3.10-management"
    assert services["redis"]["image"] == "redis:7"
    for name, service in services.items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, f"{name} needs a healthcheck"
    init_scripts = [
        REPO_ROOT / v.split(":")[0]
        for v in services["postgres"]["volumes"]
        if "docker-entrypoint-initdb.d" in v
    ]
    assert init_scripts
    for script in init_scripts:
        for service in base_services():
            assert f"CREATE DATABASE marque_{service};" in script.read_text()


@pytest.mark.parametrize("service", base_services())
def test_compose_migrates_before_serving(compose: Doc, service: str) -> None:
    services = compose["services"]
    migrate, server = services[f"{service}-migrate"], services[service]
    assert migrate["command"] == ["migrate", service]
    assert migrate["restart"] == "no"
    assert server["command"] == ["serve", service]
    assert migrate["image"] == server["image"]
    assert server["image"].startswith(f"marque/{service}:")
    needs = {
        f"{service}-migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
        "rabbitmq": {"condition": "service_healthy"},
    }
    if service == GATEWAY:
        # Redis for shared rate limits; the services it routes to, so that it starts ready.
        needs["redis"] = {"condition": "service_healthy"}
        for upstream in sorted(set(base_services()) - {GATEWAY}):
            needs[upstream] = {"condition": "service_healthy"}
    assert server["depends_on"] == needs
    assert "/readyz" in " ".join(server["healthcheck"]["test"])
    for container in (migrate, server):
        assert container["read_only"] is True
        assert container["cap_drop"] == ["ALL"]
        assert container["build"]["args"]["SERVICE"] == service
        assert container["build"]["args"].get("SERVICE_DIR", f"services/{service}") == (
            source_dir(service)
        )
        assert (
            REPO_ROOT / container["build"]["context"] / container["build"]["dockerfile"]
        ).exists()


# Local ports (DESIGN.md §10): HTTP 810n, gRPC 910n.
LOCAL_N = {"crm": 1, "inventory": 2, "sales": 3, "aftersales": 4, "finance": 5, "reporting": 6}


def test_compose_ports_follow_design(compose: Doc) -> None:
    for service in base_services():
        ports = compose["services"][service]["ports"]
        if service == GATEWAY:
            assert ports == [f"8080:{HTTP_PORT}"]
            continue
        n = LOCAL_N[service]
        assert sorted(ports) == sorted([f"810{n}:{HTTP_PORT}", f"910{n}:{GRPC_PORT}"])


def test_gateway_defaults_route_to_every_service_on_its_local_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`marque up` runs each service on its settings' default ports (DESIGN.md §10); the gateway's
    defaults must name every deployed service there."""
    for key in [k for k in os.environ if k.startswith("MARQUE_")]:
        monkeypatch.delenv(key)
    gateway = settings_class(GATEWAY)()
    assert gateway.http_port == 8080
    upstreams, grpc_upstreams = gateway.upstreams, gateway.grpc_upstreams  # type: ignore[attr-defined]
    routed = set(base_services()) - {GATEWAY}
    assert set(upstreams) == set(grpc_upstreams) == routed
    for service in routed:
        settings = settings_class(service)()
        n = LOCAL_N[service]
        assert (settings.http_port, settings.grpc_port) == (8100 + n, 9100 + n), service
        assert upstreams[service] == f"http://127.0.0.1:{settings.http_port}"
        assert grpc_upstreams[service] == f"127.0.0.1:{settings.grpc_port}"


@pytest.mark.parametrize("service", base_services())
def test_compose_environment_configures_the_service_settings(
    compose: Doc, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = compose["services"][service]["environment"]
    assert set(env) <= env_names_read(service), set(env) - env_names_read(service)
    # Compose's ${VAR:-default} is resolved as compose would with VAR unset.
    default = re.compile(r"\$\{[A-Z_]+:-([^}]*)\}")
    for key, value in env.items():
        monkeypatch.setenv(key, default.sub(r"\1", str(value)))
    settings = settings_class(service)()
    assert settings.http_host == "0.0.0.0"
    grpc_port = 0 if service in HTTP_ONLY else GRPC_PORT
    assert (settings.http_port, settings.grpc_port) == (HTTP_PORT, grpc_port)
    assert settings.database_url.endswith(f"@postgres:5432/marque_{service}")
    assert "@rabbitmq:5672/" in settings.amqp_url


def test_compose_gateway_routes_to_every_service_and_shares_redis(compose: Doc) -> None:
    services = compose["services"]
    env = services[GATEWAY]["environment"]
    assert urlsplit(env["MARQUE_REDIS_URL"]).hostname == "redis"
    upstreams = json.loads(env["MARQUE_GATEWAY_UPSTREAMS"])
    grpc_upstreams = json.loads(env["MARQUE_GATEWAY_GRPC_UPSTREAMS"])
    routed = set(base_services()) - {GATEWAY}
    assert set(upstreams) == set(grpc_upstreams) == routed
    for upstream in routed:
        # Container ports, by compose service name: not the host ports of DESIGN.md §10.
        assert upstreams[upstream] == f"http://{upstream}:{HTTP_PORT}"
        assert grpc_upstreams[upstream] == f"{upstream}:{GRPC_PORT}"
        assert upstream in services
    # Demo users: `docker compose run --rm gateway seed gateway` (docs/deploy.md); the image's
    # entrypoint is `marque`, so the command is all that changes.
    assert (
        "docker compose run --rm gateway seed gateway"
        in (REPO_ROOT / "docs" / "deploy.md").read_text()
    )


# ---- the image recipe --------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    stages: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for op, arg in dockerfile_instructions():
        if op == "FROM":
            parts = arg.split()
            current = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else parts[0]
            stages[current] = [(op, arg)]
        elif current:
            stages[current].append((op, arg))
    return stages


def test_image_is_slim_non_root_and_runs_marque() -> None:
    stages = dockerfile_stages()
    defaults = dict(
        arg.split("=", 1)
        for op, arg in dockerfile_instructions()
        if op == "ARG" and "=" in arg and "$" not in arg
    )
    assert defaults["PYTHON_IMAGE"].startswith("python:3.11-slim")
    runtime = stages["runtime"]
    assert ("USER", "10001:10001") in runtime
    assert ("EXPOSE", f"{HTTP_PORT} {GRPC_PORT}") in runtime
    assert ("ENTRYPOINT", '["marque"]') in runtime
    assert list(stages)[-1] == "service-${SERVICE}", "the default stage is chosen by SERVICE"
    for service in base_services():
        stage = stages[f"service-{service}"]
        assert stage[0] == ("FROM", f"runtime AS service-{service}")
        assert ("CMD", json.dumps(["serve", service])) in stage


def test_image_copies_only_what_exists_and_dockerignore_keeps() -> None:
    sources = []
    for op, arg in dockerfile_instructions():
        if op == "COPY" and "--from" not in arg:
            sources += arg.split()[:-1]
    assert sources
    for service in base_services():
        for source in sources:
            path = source.replace("${SERVICE_DIR}", source_dir(service))
            assert (REPO_ROOT / path).exists(), f"COPY {path}: missing"
            assert not dockerignored(path), f"COPY {path}: excluded by .dockerignore"
        for needed in ("pyproject.toml", "alembic.ini", "migrations/env.py"):
            assert (REPO_ROOT / source_dir(service) / needed).exists()
            assert not dockerignored(f"{source_dir(service)}/{needed}")
        assert dockerignored(f"{source_dir(service)}/tests/conftest.py")
    for needed in ("libs/kit/pyproject.toml", "libs/kit/src/marque_kit/cli.py"):
        assert not dockerignored(needed)
    for junk in (".venv/bin/python", ".git/HEAD", "web/node_modules/x.js", "docs/deploy.md"):
        assert dockerignored(junk)


def test_entry_points_the_image_relies_on_are_declared() -> None:
    kit = (REPO_ROOT / "libs" / "kit" / "pyproject.toml").read_text()
    assert 'marque = "marque_kit.cli:main"' in kit
    for service in base_services():
        pyproject = (REPO_ROOT / source_dir(service) / "pyproject.toml").read_text()
        assert f'{service} = "marque_{service}.' in pyproject


def dockerignore_patterns() -> Iterator[tuple[bool, re.Pattern[str]]]:
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = ""
        for token in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                token, re.escape(token)
            )
        yield keep, re.compile(regex)


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parents wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for keep, regex in dockerignore_patterns():
        if any(regex.fullmatch(p) for p in prefixes):
            excluded = not keep
    return excluded
