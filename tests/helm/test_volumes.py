"""Where the collector writes and what it mounts: the ledger on a writable volume, one claim per pod,
extraVolumes / extraVolumeMounts in both modes, and PodDisruptionBudgets that let drains proceed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import pytest

from tests.helm.support import chart_copy, container, env_of, render, render_error, validate_manifest

PG = {"existingSecret": {"name": "llmcost-postgres", "key": "url"}}
CPU = {"requests": {"cpu": "100m"}}
CA_VOLUME = {"name": "otel-llmcost-forward-ca", "secret": {"secretName": "tempo-ca"}}
CA_MOUNT = {"name": "otel-llmcost-forward-ca", "mountPath": "/etc/otel-llmcost-forward-ca", "readOnly": True}
FORWARD = {
    "forward": {
        "endpoints": [
            {
                "endpoint": "https://tempo.observability.svc:4318",
                "ca_file": "/etc/otel-llmcost-forward-ca/ca.crt",
            }
        ]
    }
}
EXTRA = {"extraVolumes": [CA_VOLUME], "extraVolumeMounts": [CA_MOUNT], "config": FORWARD}


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """helm/examples/llm-app (sidecar mode) with its dependency fetched."""
    app = chart_copy(tmp_path_factory.mktemp("example")).parent / "examples" / "llm-app"
    helm.dependency_update(app)
    return app


def _gateway_pod(values: dict[str, Any]) -> dict[str, Any]:
    deployment = render({"mode": "gateway", **values}).one("Deployment")
    validate_manifest(deployment)
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return pod


# extraVolumes / extraVolumeMounts


def test_gateway_pods_get_the_extra_volumes_and_the_collector_their_mounts() -> None:
    pod = _gateway_pod(EXTRA)
    assert [v["name"] for v in pod["volumes"]] == [
        "otel-llmcost-config", "otel-llmcost-ledger", "otel-llmcost-tmp", "otel-llmcost-forward-ca",
    ]  # fmt: skip
    assert pod["volumes"][-1] == CA_VOLUME
    mounts = container(pod)["volumeMounts"]
    assert [m["mountPath"] for m in mounts] == [
        "/etc/otel-llmcost", "/var/lib/otel-llmcost", "/tmp", "/etc/otel-llmcost-forward-ca",
    ]  # fmt: skip
    assert mounts[-1] == CA_MOUNT
    # After the TLS volume, when there is one.
    tls = _gateway_pod({**EXTRA, "tls": {"existingSecret": "llmcost-tls"}})
    assert [v["name"] for v in tls["volumes"]][-2:] == ["otel-llmcost-tls", "otel-llmcost-forward-ca"]
    assert [m["name"] for m in container(tls)["volumeMounts"]][-2:] == [
        "otel-llmcost-tls",
        "otel-llmcost-forward-ca",
    ]


def test_sidecar_volumes_carry_the_extra_volumes_and_the_sidecar_their_mounts(example: Path) -> None:
    rendered = render({"llmcost": EXTRA}, chart=example)
    deployment = rendered.one("Deployment")
    validate_manifest(deployment)
    pod = deployment["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == [
        "tmp", "otel-llmcost-config", "otel-llmcost-ledger", "otel-llmcost-tmp", "otel-llmcost-forward-ca",
    ]  # fmt: skip
    assert pod["volumes"][-1] == CA_VOLUME
    assert container(pod)["volumeMounts"][-1] == CA_MOUNT
    assert CA_MOUNT not in container(pod, "app")["volumeMounts"]  # the collector's, not the application's
    config = rendered.one("ConfigMap")["data"]["config.yaml"]
    assert "ca_file: /etc/otel-llmcost-forward-ca/ca.crt" in config


def test_without_extras_nothing_is_added() -> None:
    pod = _gateway_pod({})
    assert [v["name"] for v in pod["volumes"]] == [
        "otel-llmcost-config",
        "otel-llmcost-ledger",
        "otel-llmcost-tmp",
    ]
    assert len(container(pod)["volumeMounts"]) == 3


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (
            {"extraVolumes": [{"secret": {"secretName": "x"}}]},
            "at '/extraVolumes/0': missing property 'name'",
        ),
        ({"extraVolumes": [{"name": "Bad_Name", "emptyDir": {}}]}, "at '/extraVolumes/0/name'"),
        ({"extraVolumeMounts": [{"name": "x"}]}, "at '/extraVolumeMounts/0': missing property 'mountPath'"),
        ({"extraVolumeMounts": [{"name": "x", "mountPath": "etc/x"}]}, "at '/extraVolumeMounts/0/mountPath'"),
        (
            {"extraVolumeMounts": [{"name": "x", "mountPath": "/x", "readonly": True}]},
            "at '/extraVolumeMounts/0': additional properties 'readonly' not allowed",
        ),
    ],
)
def test_extra_volumes_and_mounts_are_schema_checked(values: dict[str, Any], named: str) -> None:
    with pytest.raises(helm.HelmValuesError) as refused:
        render(values)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"extraVolumes": [{"name": "otel-llmcost-tmp", "emptyDir": {}}]},
            "extraVolumes[0].name otel-llmcost-tmp is the name of a volume the chart adds (otel-llmcost-config, "
            "otel-llmcost-ledger, otel-llmcost-tmp, otel-llmcost-tls): choose another",
        ),
        (
            {"extraVolumeMounts": [CA_MOUNT, {"name": "x", "mountPath": "/etc/otel-llmcost/ca"}]},
            "extraVolumeMounts[1].mountPath /etc/otel-llmcost/ca is in /etc/otel-llmcost, where the chart mounts "
            "a volume of its own: choose a path outside /etc/otel-llmcost, /etc/otel-llmcost-tls, "
            "/var/lib/otel-llmcost, /tmp",
        ),
        (
            {"extraVolumeMounts": [{"name": "x", "mountPath": "/tmp/"}]},
            "extraVolumeMounts[0].mountPath /tmp/ is in /tmp, where the chart mounts a volume of its own: choose a "
            "path outside /etc/otel-llmcost, /etc/otel-llmcost-tls, /var/lib/otel-llmcost, /tmp",
        ),
    ],
)
def test_extras_that_clash_with_the_charts_own_are_refused(values: dict[str, Any], message: str) -> None:
    assert render_error(values) == message


# The SQLite ledger on a writable volume


@pytest.mark.parametrize(
    ("url", "values"),
    [
        ("sqlite:////var/lib/otel-llmcost/ledger.db", {}),
        ("sqlite:////var/lib/otel-llmcost/shop/ledger.db", {}),
        ("sqlite:////tmp/ledger.db", {}),
        ("sqlite:///:memory:", {}),
        ("sqlite:////data/ledger.db", {"extraVolumes": [{"name": "data", "emptyDir": {}}],
                                       "extraVolumeMounts": [{"name": "data", "mountPath": "/data"}]}),
    ],
)  # fmt: skip
def test_an_sqlite_ledger_on_a_writable_volume_renders(url: str, values: dict[str, Any]) -> None:
    assert env_of(container(_gateway_pod({"ledger": {"url": url}, **values})))["OTEL_LLMCOST_LEDGER"] == url


WRITABLE = "Writable directories: /var/lib/otel-llmcost, /tmp"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"ledger": {"url": "sqlite:////data/ledger.db"}},
            "ledger.url sqlite:////data/ledger.db puts the SQLite ledger at /data/ledger.db, on the collector's "
            "read-only root filesystem: put it in /var/lib/otel-llmcost, the ledger volume "
            f"(sqlite:////var/lib/otel-llmcost/ledger.db, which an empty ledger.url means). {WRITABLE}",
        ),
        (
            {"ledger": {"url": "sqlite:///ledger.db"}},
            "ledger.url sqlite:///ledger.db puts the SQLite ledger at ledger.db (relative to the working "
            "directory), on the collector's read-only root filesystem: put it in /var/lib/otel-llmcost, the ledger "
            f"volume (sqlite:////var/lib/otel-llmcost/ledger.db, which an empty ledger.url means). {WRITABLE}",
        ),
        (
            {"ledger": {"url": "sqlite:////var/lib/otel-llmcost/../ledger.db"}},
            "ledger.url sqlite:////var/lib/otel-llmcost/../ledger.db puts the SQLite ledger at /var/lib/ledger.db, "
            "on the collector's read-only root filesystem: put it in /var/lib/otel-llmcost, the ledger volume "
            f"(sqlite:////var/lib/otel-llmcost/ledger.db, which an empty ledger.url means). {WRITABLE}",
        ),
        (
            {
                "ledger": {"url": "sqlite:////data/ledger.db"},
                "extraVolumes": [{"name": "data", "configMap": {"name": "x"}}],
                "extraVolumeMounts": [{"name": "data", "mountPath": "/data", "readOnly": True},
                                      {"name": "data", "mountPath": "/scratch/"}],
            },
            "ledger.url sqlite:////data/ledger.db puts the SQLite ledger at /data/ledger.db, on the collector's "
            "read-only root filesystem: put it in /var/lib/otel-llmcost, the ledger volume "
            f"(sqlite:////var/lib/otel-llmcost/ledger.db, which an empty ledger.url means). {WRITABLE}, /scratch",
        ),
        (
            {"ledger": {"url": "sqlite://db/ledger.db"}},
            "ledger.url sqlite://db/ledger.db is not an SQLite file URL: write sqlite:////absolute/path.db (no "
            "host), e.g. sqlite:////var/lib/otel-llmcost/ledger.db",
        ),
    ],
)  # fmt: skip
def test_an_sqlite_ledger_on_the_read_only_root_is_refused(values: dict[str, Any], message: str) -> None:
    assert render_error(values) == message
    assert render_error({**values, "mode": "gateway"}) == message


# One PersistentVolumeClaim, one pod

SIDECAR_PERSISTENCE = (
    "ledger.persistence.enabled needs mode: gateway: in sidecar mode every pod of the application would mount "
    "the same PersistentVolumeClaim (ReadWriteOnce: pods on other nodes fail to attach it; on one node, two "
    "SQLite writers share one file), so a per-pod SQLite ledger cannot persist. For a durable ledger shared by "
    "all pods set ledger.existingSecret (a postgresql:// URL), or run mode: gateway"
)


@pytest.mark.parametrize("persistence", [{"enabled": True}, {"enabled": True, "existingClaim": "ledger"}])
def test_sidecar_persistence_is_refused(persistence: dict[str, Any], example: Path) -> None:
    assert render_error({"ledger": {"persistence": persistence}}) == SIDECAR_PERSISTENCE
    assert render_error({"ledger": {**PG, "persistence": persistence}}) == SIDECAR_PERSISTENCE
    # From the application chart too, which includes the sidecar templates.
    with pytest.raises(helm.HelmRenderError) as failed:
        render({"llmcost": {"ledger": {"persistence": persistence}}}, chart=example)
    assert str(failed.value).endswith(SIDECAR_PERSISTENCE)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"gateway": {"replicas": 2}},
            "ledger.persistence.enabled with up to 2 gateway pods (gateway.replicas): they would all mount the same "
            "PersistentVolumeClaim (ReadWriteOnce: pods on other nodes fail to attach it), and a PostgreSQL ledger "
            "keeps nothing on it: set ledger.persistence.enabled: false",
        ),
        (
            {"autoscaling": {"enabled": True, "minReplicas": 1, "maxReplicas": 4}, "resources": CPU},
            "ledger.persistence.enabled with up to 4 gateway pods (autoscaling.maxReplicas): they would all mount "
            "the same PersistentVolumeClaim (ReadWriteOnce: pods on other nodes fail to attach it), and a "
            "PostgreSQL ledger keeps nothing on it: set ledger.persistence.enabled: false",
        ),
    ],
)
def test_one_claim_for_several_gateway_pods_is_refused(values: dict[str, Any], message: str) -> None:
    values = {"mode": "gateway", "ledger": {**PG, "persistence": {"enabled": True}}, **values}
    assert render_error(values) == message


def test_one_gateway_pod_keeps_its_sqlite_ledger_on_a_claim() -> None:
    rendered = render({"mode": "gateway", "ledger": {"persistence": {"enabled": True}}})
    assert rendered.one("PersistentVolumeClaim")["metadata"]["name"] == "demo-otel-llmcost-ledger"
    volumes = rendered.one("Deployment")["spec"]["template"]["spec"]["volumes"]
    assert {
        "name": "otel-llmcost-ledger",
        "persistentVolumeClaim": {"claimName": "demo-otel-llmcost-ledger"},
    } in volumes


# PodDisruptionBudgets that let a drain proceed


def _pdb_values(min_available: int | str, **gateway: Any) -> dict[str, Any]:
    return {
        "mode": "gateway",
        "ledger": PG,
        "gateway": {**gateway, "podDisruptionBudget": {"enabled": True, "minAvailable": min_available}},
    }


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"mode": "gateway", "gateway": {"podDisruptionBudget": {"enabled": True}}},
            "gateway.podDisruptionBudget.minAvailable (1) is not below gateway.replicas (1): the "
            "PodDisruptionBudget would let no gateway pod be evicted, so every node drain would block. Set "
            "minAvailable below 1, or raise gateway.replicas",
        ),
        (
            _pdb_values(4, replicas=3),
            "gateway.podDisruptionBudget.minAvailable (4) is not below gateway.replicas (3): the "
            "PodDisruptionBudget would let no gateway pod be evicted, so every node drain would block. Set "
            "minAvailable below 3, or raise gateway.replicas",
        ),
        (
            _pdb_values("70%", replicas=3),
            "gateway.podDisruptionBudget.minAvailable (70% of 3 pods, rounded up: 3) is not below gateway.replicas "
            "(3): the PodDisruptionBudget would let no gateway pod be evicted, so every node drain would block. Set "
            "minAvailable below 3, or raise gateway.replicas",
        ),
        (
            {
                **_pdb_values(2, replicas=5),
                "resources": CPU,
                "autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 6},
            },
            "gateway.podDisruptionBudget.minAvailable (2) is not below autoscaling.minReplicas (2): the "
            "PodDisruptionBudget would let no gateway pod be evicted, so every node drain would block. Set "
            "minAvailable below 2, or raise autoscaling.minReplicas",
        ),
    ],
)
def test_a_budget_that_blocks_every_drain_is_refused(values: dict[str, Any], message: str) -> None:
    assert render_error(values) == message


@pytest.mark.parametrize(
    ("values", "min_available"),
    [
        (_pdb_values(2, replicas=3), 2),
        (_pdb_values("60%", replicas=3), "60%"),  # 1.8, rounded up: 2 of 3
        (_pdb_values(0), 0),
        ({**_pdb_values(1), "resources": CPU, "autoscaling": {"enabled": True, "minReplicas": 2}}, 1),
    ],
)
def test_a_budget_below_the_replicas_renders(values: dict[str, Any], min_available: int | str) -> None:
    pdb = render(values).one("PodDisruptionBudget")
    validate_manifest(pdb)
    assert pdb["spec"]["minAvailable"] == min_available
    # Sidecar mode renders no budget, so there is nothing to check.
    render({**values, "mode": "sidecar", "ledger": {}, "autoscaling": {}, "resources": {}})


def test_a_budget_percentage_is_schema_checked() -> None:
    with pytest.raises(helm.HelmValuesError, match=r"at '/gateway/podDisruptionBudget/minAvailable'"):
        render(_pdb_values("two"))
