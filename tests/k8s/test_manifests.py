"""k8s/: the Kubernetes Jobs validate against the Kubernetes API schemas (kubernetes-validate, strict:
unknown fields are errors), and the Tekton Task, the GitLab and Cloud Build examples have the shape
their systems expect and run the executor as kaniko's would be run.

Tekton's Task is a CRD whose schema kubernetes-validate does not carry, so its envelope is checked
here field by field and each step, a Kubernetes Container plus Tekton's few extra fields, is
validated as a Container of a Pod.
"""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from executor.cli import parse_options
from executor.cli.index import parse_index_options

K8S = Path(__file__).resolve().parents[2] / "k8s"
K8S_VERSION = "1.30.0"
TEKTON_STEP_ONLY = {"computeResources": "resources", "script": None, "onError": None, "results": None}


def documents(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def executor_container(pod_spec: dict) -> dict:
    [container] = [c for c in pod_spec["containers"] if c["name"] == "lamina"]
    return container


def assert_kaniko_style(container: dict) -> None:
    """Root but never privileged; credentials only from /kaniko/.docker (a Secret)."""
    security = container["securityContext"]
    assert security["runAsUser"] == 0 and security.get("privileged") is False
    assert "capabilities" not in security or not security["capabilities"].get("add")


@pytest.mark.parametrize("name", ["job.yaml", "job-gcs.yaml", "multi-platform.yaml"])
def test_jobs_are_valid_kubernetes(name: str) -> None:
    for doc in documents(name):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", ["job.yaml", "job-gcs.yaml"])
def test_jobs_mount_the_docker_config_secret_and_take_valid_flags(name: str) -> None:
    [job] = documents(name)
    pod = job["spec"]["template"]["spec"]
    container = executor_container(pod)
    assert_kaniko_style(container)
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if v["name"] == mounts["/kaniko/.docker"]["name"])
    assert volume["secret"]["items"] == [{"key": ".dockerconfigjson", "path": "config.json"}]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    for init in pod.get("initContainers", []):
        assert init["securityContext"]["runAsNonRoot"] is True
    options = parse_options(container["args"], {})
    assert options.output.destinations


def test_multi_platform_jobs_build_each_arch_on_its_nodes_then_index_them() -> None:
    """One build Job per architecture, pinned to its nodes and building only that platform, and
    an index Job naming exactly what they push."""
    *builds, index_job = documents("multi-platform.yaml")
    pushed = []
    for job in builds:
        pod = job["spec"]["template"]["spec"]
        container = executor_container(pod)
        assert_kaniko_style(container)
        options = parse_options(container["args"], {})
        [target] = options.platforms.targets
        assert pod["nodeSelector"] == {"kubernetes.io/os": target[0], "kubernetes.io/arch": target[1]}
        assert options.snapshot.reproducible
        pushed.extend(options.output.destinations)
    assert len(builds) == 2 and len({tuple(b["spec"]["template"]["spec"]["nodeSelector"].items())
                                      for b in builds}) == 2
    pod = index_job["spec"]["template"]["spec"]
    container = executor_container(pod)
    assert container["args"][0] == "index" and "nodeSelector" not in pod
    assert container["securityContext"]["runAsNonRoot"] is True
    options = parse_index_options(container["args"][1:], {})
    assert list(options.sources) == pushed and not set(options.destinations) & set(pushed)
    assert index_job["spec"]["backoffLimit"] > 0  # retried until both builds have pushed
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert "/kaniko/.docker" in mounts


def test_tekton_task_shape_and_steps_as_containers() -> None:
    [task] = documents("tekton-task.yaml")
    assert (task["apiVersion"], task["kind"]) == ("tekton.dev/v1", "Task")
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", task["metadata"]["name"])
    spec = task["spec"]
    params = {p["name"]: p for p in spec["params"]}
    assert set(spec) <= {"description", "params", "workspaces", "results", "steps", "volumes",
                         "stepTemplate", "sidecars", "displayName"}
    assert all(p.get("type", "string") in ("string", "array", "object") for p in params.values())
    workspaces = {w["name"]: w for w in spec["workspaces"]}
    assert workspaces["dockerconfig"]["mountPath"] == "/kaniko/.docker"
    used = set(re.findall(r"\$\((params|workspaces|results)\.([A-Za-z_-]+)", (K8S / "tekton-task.yaml").read_text()))
    declared = {"params": set(params), "workspaces": set(workspaces),
                "results": {r["name"] for r in spec["results"]}}
    assert all(name in declared[kind] for kind, name in used), used
    containers = []
    for step in spec["steps"]:
        container = {k: v for k, v in step.items() if k not in TEKTON_STEP_ONLY}
        for tekton_name, k8s_name in TEKTON_STEP_ONLY.items():
            if k8s_name and tekton_name in step:
                container[k8s_name] = step[tekton_name]
        containers.append(container)
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tekton-steps"},
           "spec": {"containers": containers}}
    kubernetes_validate.validate(pod, K8S_VERSION, strict=True)
    assert_kaniko_style(containers[0])
    build_args = [a.replace("$(params.EXTRA_ARGS[*])", "--no-push") for a in containers[0]["args"]]
    assert parse_options(build_args, {}).source.dockerfile


def test_gitlab_job_uses_the_debug_image_and_writes_the_docker_config() -> None:
    [pipeline] = documents("gitlab-ci.yml")
    job = pipeline["build-image"]
    assert job["image"]["name"].endswith(":debug") and job["image"]["entrypoint"] == [""]
    script = "\n".join(job["script"])
    assert "/kaniko/.docker/config.json" in script and "/kaniko/executor" in script


def test_cloud_build_step_runs_the_executor_on_the_workspace() -> None:
    [build] = documents("cloudbuild.yaml")
    [step] = build["steps"]
    assert step["name"].startswith("registry.example.com/lamina/executor")
    options = parse_options(step["args"], {})
    assert str(options.source.context) == "/workspace"
