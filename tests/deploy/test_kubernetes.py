"""deploy/k8s: what `kubectl kustomize` renders, against Kubernetes' own schemas and each other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from workers.celery_app import QUEUE

REPO_ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = REPO_ROOT / "deploy" / "k8s"
CENTRAL_CONFIG_EXAMPLE = REPO_ROOT / "deploy" / "hookwise.yml"
# The oldest Kubernetes minor still commonly supported by managed offerings; every field used here
# exists there (policy/v1 PDB, batch/v1 ttlSecondsAfterFinished, startupProbe).
KUBERNETES_VERSION = "1.29"
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
SECRET_NAME = "hookwise-secrets"
CONFIG_PATH = "/etc/hookwise/hookwise.yml"
# The reliability notes allow the soft shutdown up to 60 s; the grace period must cover that.
MAX_SOFT_SHUTDOWN_SECONDS = 60
# Celery's own variable (billiard), not a Hookwise setting.
CELERY_ENV_NAMES = {"REMAP_SIGTERM"}
COMPONENTS = ("web", "worker", "beat", "migrate")

Manifest = dict[str, Any]


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def workload(manifests: list[Manifest], component: str) -> Manifest:
    if component == "migrate":
        return find(manifests, "Job", "hookwise-migrate")
    return find(manifests, "Deployment", f"hookwise-{component}")


def only_container(manifest: Manifest) -> dict[str, Any]:
    containers: list[dict[str, Any]] = manifest["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def load_sources() -> list[tuple[str, Manifest]]:
    return [
        (path.name, doc)
        for path in sorted(K8S_DIR.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def test_every_source_file_parses_and_names_its_kind() -> None:
    sources = load_sources()
    assert sources
    for filename, doc in sources:
        assert {"apiVersion", "kind"} <= set(doc), filename


def test_kustomization_lists_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    manifests = {p.name for p in K8S_DIR.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests - {"secret.example.yaml"}
    # Secrets are created out of band, never applied from the repository.
    assert "secret.example.yaml" not in kustomization["resources"]


def test_rendered_kinds(rendered_manifests: list[Manifest]) -> None:
    kinds = sorted((m["kind"], m["metadata"]["name"]) for m in rendered_manifests)
    assert kinds == sorted(
        [
            ("Namespace", "hookwise"),
            ("ConfigMap", "hookwise-env"),
            ("ConfigMap", "hookwise-config"),
            ("Deployment", "hookwise-web"),
            ("Service", "hookwise-web"),
            ("PodDisruptionBudget", "hookwise-web"),
            ("Deployment", "hookwise-worker"),
            ("ScaledObject", "hookwise-worker"),
            ("TriggerAuthentication", "hookwise-redis"),
            ("Deployment", "hookwise-beat"),
            ("Job", "hookwise-migrate"),
        ]
    )
    namespaced = [m for m in rendered_manifests if m["kind"] != "Namespace"]
    assert {m["metadata"]["namespace"] for m in namespaced} == {"hookwise"}


def test_core_objects_match_the_kubernetes_schemas(rendered_manifests: list[Manifest]) -> None:
    # strict: unknown fields (a typo'd `livenessprobe`) fail instead of being silently dropped.
    for manifest in rendered_manifests:
        if manifest["kind"] in KEDA_KINDS:
            continue
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_secret_example_matches_the_schema() -> None:
    secret = yaml.safe_load((K8S_DIR / "secret.example.yaml").read_text())
    kubernetes_validate.validate(secret, KUBERNETES_VERSION, strict=True)


def test_strict_validation_catches_a_misspelt_field(rendered_manifests: list[Manifest]) -> None:
    deployment = yaml.safe_load(yaml.safe_dump(workload(rendered_manifests, "web")))
    container = only_container(deployment)
    container["readinessprobe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("component", COMPONENTS)
def test_pod_selectors_and_labels_agree(rendered_manifests: list[Manifest], component: str) -> None:
    manifest = workload(rendered_manifests, component)
    pod_labels = manifest["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["app.kubernetes.io/component"] == component
    if manifest["kind"] == "Deployment":
        assert selects(manifest["spec"]["selector"]["matchLabels"], pod_labels)
        # No other Deployment's selector may claim these pods.
        for other in rendered_manifests:
            if other["kind"] == "Deployment" and other is not manifest:
                assert not selects(other["spec"]["selector"]["matchLabels"], pod_labels)


@pytest.mark.parametrize("component", COMPONENTS)
def test_runs_the_image_with_its_subcommand(
    rendered_manifests: list[Manifest], hookwise_subcommands: dict[str, list[str]], component: str
) -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    container = only_container(workload(rendered_manifests, component))
    assert container["image"] == f"{image['newName']}:{image['newTag']}"
    assert container["args"] == hookwise_subcommands[component]
    assert "command" not in container, "the image's entrypoint (tini -- hookwise) must stay"


def test_web_service_and_probes_use_the_container_port(rendered_manifests: list[Manifest]) -> None:
    web = workload(rendered_manifests, "web")
    container = only_container(web)
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8000}
    assert container["args"][container["args"].index("--port") + 1] == str(ports["http"])

    service = find(rendered_manifests, "Service", "hookwise-web")
    assert selects(service["spec"]["selector"], web["spec"]["template"]["metadata"]["labels"])
    (service_port,) = service["spec"]["ports"]
    assert service_port["targetPort"] in ports

    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    annotations = web["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["http"])
    assert annotations["prometheus.io/path"] == "/metrics"


def test_web_has_two_replicas_and_a_disruption_budget(rendered_manifests: list[Manifest]) -> None:
    web = workload(rendered_manifests, "web")
    assert web["spec"]["replicas"] == 2
    pdb = find(rendered_manifests, "PodDisruptionBudget", "hookwise-web")
    assert pdb["spec"]["minAvailable"] == 1
    assert selects(
        pdb["spec"]["selector"]["matchLabels"], web["spec"]["template"]["metadata"]["labels"]
    )


def test_worker_is_scaled_by_queue_depth(rendered_manifests: list[Manifest]) -> None:
    worker = workload(rendered_manifests, "worker")
    # KEDA owns the replica count; a fixed one would be reset on every apply.
    assert "replicas" not in worker["spec"]
    scaled = find(rendered_manifests, "ScaledObject", "hookwise-worker")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"]["name"] == worker["metadata"]["name"]
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis"
    # On Redis, a Celery queue is a list named after the queue.
    assert trigger["metadata"]["listName"] == QUEUE
    assert int(trigger["metadata"]["listLength"]) > 0
    # KEDA wants every metadata value as a string.
    assert all(isinstance(value, str) for value in trigger["metadata"].values())
    auth = find(rendered_manifests, "TriggerAuthentication", trigger["authenticationRef"]["name"])
    (secret_ref,) = auth["spec"]["secretTargetRef"]
    assert secret_ref["name"] == SECRET_NAME
    assert secret_ref["key"] in secret_example_keys()


def test_worker_gets_time_for_soft_shutdown_and_pings_itself(
    rendered_manifests: list[Manifest], worker_soft_shutdown_seconds: float
) -> None:
    worker = workload(rendered_manifests, "worker")
    grace = worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert grace > max(worker_soft_shutdown_seconds, MAX_SOFT_SHUTDOWN_SECONDS)
    env = {entry["name"]: entry.get("value") for entry in only_container(worker)["env"]}
    assert env["REMAP_SIGTERM"] == "SIGQUIT"
    probe = only_container(worker)["livenessProbe"]["exec"]["command"]
    assert probe[:2] == ["sh", "-c"]
    assert probe[2].startswith("celery -A workers.celery_app:app inspect ping")
    assert '-d "celery@$HOSTNAME"' in probe[2]


def test_beat_is_a_singleton(rendered_manifests: list[Manifest]) -> None:
    beat = workload(rendered_manifests, "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    probe = only_container(beat)["livenessProbe"]["exec"]["command"]
    assert probe == ["hookwise-healthcheck", "process", "beat"]
    assert not [
        m
        for m in rendered_manifests
        if m["kind"] == "ScaledObject"
        and m["spec"]["scaleTargetRef"]["name"] == beat["metadata"]["name"]
    ]


def test_migration_job_runs_once_and_cleans_up(rendered_manifests: list[Manifest]) -> None:
    job = workload(rendered_manifests, "migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


@pytest.mark.parametrize("component", COMPONENTS)
def test_resources_and_security(rendered_manifests: list[Manifest], component: str) -> None:
    pod = workload(rendered_manifests, component)["spec"]["template"]["spec"]
    container = only_container(workload(rendered_manifests, component))
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile_uid()
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize("component", COMPONENTS)
def test_mounts_and_volumes_agree(rendered_manifests: list[Manifest], component: str) -> None:
    pod = workload(rendered_manifests, component)["spec"]["template"]["spec"]
    container = only_container(workload(rendered_manifests, component))
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    mounts = {mount["name"]: mount for mount in container["volumeMounts"]}
    assert set(mounts) == set(volumes)
    config_maps = {m["metadata"]["name"]: m for m in rendered_manifests if m["kind"] == "ConfigMap"}
    for volume in volumes.values():
        if "configMap" in volume:
            assert volume["configMap"]["name"] in config_maps
        if "secret" in volume:
            assert volume["secret"]["secretName"] == SECRET_NAME
            for item in volume["secret"]["items"]:
                assert item["key"] in secret_example_keys()
    # The read-only root filesystem leaves only mounted paths writable: tmp and the data dir.
    mounted_paths = {mount["mountPath"] for mount in mounts.values()}
    assert {"/tmp", "/var/lib/hookwise"} <= mounted_paths


@pytest.mark.parametrize("component", COMPONENTS)
def test_central_config_is_mounted_where_the_setting_points(
    rendered_manifests: list[Manifest], component: str
) -> None:
    env_config = find(rendered_manifests, "ConfigMap", "hookwise-env")["data"]
    assert env_config["HOOKWISE_CONFIG"] == CONFIG_PATH
    pod = workload(rendered_manifests, component)["spec"]["template"]["spec"]
    container = only_container(workload(rendered_manifests, component))
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    config_dir, config_file = CONFIG_PATH.rsplit("/", 1)
    (mount,) = [m for m in container["volumeMounts"] if m["mountPath"] == config_dir]
    assert mount["readOnly"] is True
    config_map = find(rendered_manifests, "ConfigMap", volumes[mount["name"]]["configMap"]["name"])
    assert config_file in config_map["data"]


def test_config_map_carries_the_same_config_as_deploy_hookwise_yml(
    rendered_manifests: list[Manifest],
) -> None:
    embedded = find(rendered_manifests, "ConfigMap", "hookwise-config")["data"]["hookwise.yml"]
    assert yaml.safe_load(embedded) == yaml.safe_load(CENTRAL_CONFIG_EXAMPLE.read_text())


@pytest.mark.parametrize("component", COMPONENTS)
def test_environment_names_are_real_settings(
    rendered_manifests: list[Manifest], known_env_names: set[str], component: str
) -> None:
    container = only_container(workload(rendered_manifests, component))
    env_names = {entry["name"] for entry in container["env"]} - CELERY_ENV_NAMES
    assert env_names <= known_env_names, env_names - known_env_names
    assert "HOOKWISE_DATABASE_URL" in env_names
    (env_from,) = container["envFrom"]
    env_config = find(rendered_manifests, "ConfigMap", env_from["configMapRef"]["name"])
    assert set(env_config["data"]) <= known_env_names
    for entry in container["env"]:
        if "valueFrom" in entry:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == SECRET_NAME
            if ref.get("optional", False):
                assert ref["key"] in secret_example_keys() | secret_example_optional_keys()
            else:
                assert ref["key"] in secret_example_keys()


def test_secret_example_names_only_real_settings(known_env_names: set[str]) -> None:
    keys = secret_example_keys()
    env_keys = {key for key in keys if key.startswith("HOOKWISE_")}
    assert env_keys <= known_env_names, env_keys - known_env_names
    optional = secret_example_optional_keys()
    assert optional <= known_env_names, optional - known_env_names
    # The two non-setting keys are files/parameters consumed by the manifests, not by Hookwise.
    assert keys - env_keys == {"redis-password", "github-private-key"}


def secret_example_keys() -> set[str]:
    secret = yaml.safe_load((K8S_DIR / "secret.example.yaml").read_text())
    return set(secret["stringData"])


def secret_example_optional_keys() -> set[str]:
    """Keys the example documents as comments (`# KEY: what it is for`)."""
    text = (K8S_DIR / "secret.example.yaml").read_text()
    return set(re.findall(r"^\s*# (HOOKWISE_[A-Z0-9_]+):", text, flags=re.MULTILINE))


def dockerfile_uid() -> int:
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(path=str(REPO_ROOT / "Dockerfile"))
    users = [i["value"] for i in parser.structure if i["instruction"] == "USER"]
    return int(users[-1].split(":")[0])
