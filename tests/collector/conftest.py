"""Fixtures for the collector process tests: a started collector on free ports with its own
registry and ledger, and raw OTLP clients that show the exact status of every answer."""

from __future__ import annotations

import gzip
import http.client
import shutil
import ssl
import subprocess
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from otel_llmcost.collector import Collector, CollectorConfig
from otel_llmcost.collector._config_values import Address
from otel_llmcost.collector._senders import EXPORT_METHOD
from otel_llmcost.ledger import LedgerBackend, open_ledger
from otel_llmcost.pricing import Pricer
from tests.collector import spans as S
from tests.ledger.support import check_pg, pg_admin, pg_url

FREE = Address("127.0.0.1", 0)
BASE_CONFIG = CollectorConfig(otlp_grpc=FREE, otlp_http=FREE, listen=FREE, shutdown_timeout_s=10.0)


def genai_request(count: int, first: int = 0, *, http_spans: int = 0) -> Any:
    """``count`` priced GenAI spans (ours, OpenAI and Anthropic in turn, attributed) with ids from
    ``first`` on, plus ``http_spans`` plain HTTP spans."""
    specs = []
    for i in range(first, first + count):
        team = {"team": f"team-{i % 3}"}
        if i % 2:
            spec = S.ours_anthropic(S.AnthropicCall(response_id=f"msg_{i}"), attribution=team)
        else:
            spec = S.ours_openai(S.OpenAICall(response_id=f"chatcmpl-{i}"), attribution=team)
        specs.append(spec.but(**S.ids(i)))
    specs += [S.http_span().but(**S.ids(100_000 + first + i)) for i in range(http_spans)]
    return S.request(specs)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def http_post(
    address: Address,
    body: bytes,
    *,
    path: str = "/v1/traces",
    content_type: str = "application/x-protobuf",
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
    tls: ssl.SSLContext | None = None,
) -> Answer:
    if tls is not None:
        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            address.host, address.port, timeout=30, context=tls
        )
    else:
        conn = http.client.HTTPConnection(address.host, address.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": content_type, **(headers or {})})
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


def http_get(address: Address, path: str, headers: Mapping[str, str] | None = None) -> Answer:
    return http_post(address, b"", path=path, method="GET", headers=headers)


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body)


@dataclass
class RpcAnswer:
    code: grpc.StatusCode
    details: str
    trailing: dict[str, Any]
    body: bytes = b""


def grpc_export(
    address: Address,
    body: bytes,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    root_cert: bytes | None = None,
    timeout: float = 30.0,
) -> RpcAnswer:
    """One raw ``TraceService/Export`` call; the answer's code, details and trailers."""
    target = str(address)
    if root_cert is not None:
        credentials = grpc.ssl_channel_credentials(root_certificates=root_cert)
        channel = grpc.secure_channel(
            target, credentials, options=[("grpc.ssl_target_name_override", "localhost")]
        )
    else:
        channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", 64 << 20)])
    with channel:
        call = channel.unary_unary(EXPORT_METHOD)
        try:
            response, state = call.with_call(body, timeout=timeout, metadata=metadata)
        except grpc.RpcError as err:
            return RpcAnswer(err.code(), err.details() or "", dict(err.trailing_metadata() or ()))  # type: ignore[attr-defined]
        return RpcAnswer(state.code(), state.details() or "", dict(state.trailing_metadata() or ()), response)


def samples(collector: Collector) -> dict[str, float]:
    """Every sample of the collector's registry as ``name{labels}`` -> value (labels sorted)."""
    out: dict[str, float] = {}
    for family in collector.registry.collect():
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}"] = sample.value
    return out


def metric_sum(collector: Collector, name: str, **labels: str) -> float:
    total = 0.0
    for family in collector.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


def scrape(collector: Collector) -> dict[str, float]:
    """``/metrics`` over HTTP, parsed: ``name`` -> the sum of its samples."""
    answer = http_get(collector.addresses["listen"], "/metrics")
    assert answer.status == 200
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for sample in family.samples:
            totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for localhost and 127.0.0.1, made by the openssl CLI (or the
    cryptography package where there is no openssl): (cert file, key file)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl")
    if openssl is not None:
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
             "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
    else:
        _self_signed_with_cryptography(cert, key)
    return str(cert), str(key)


def _self_signed_with_cryptography(cert: Any, key: Any) -> None:
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    san = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(private.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2)).add_extension(san, critical=False)
        .sign(private, hashes.SHA256())
    )  # fmt: skip
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )


@pytest.fixture(scope="session")
def shared_pricer() -> Pricer:
    return Pricer()


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def start_collector(sqlite_url: str, shared_pricer: Pricer) -> Iterator[Callable[..., Collector]]:
    """``start_collector(ledger=..., **config_changes)``: a started collector, stopped afterwards."""
    started: list[Collector] = []

    def start(*, ledger: LedgerBackend | None = None, **changes: Any) -> Collector:
        changes.setdefault("ledger_url", sqlite_url)
        config = replace(BASE_CONFIG, **changes)
        collector = Collector(config, registry=CollectorRegistry(), ledger=ledger, pricer=shared_pricer)
        started.append(collector)
        return collector.start()

    yield start
    for collector in started:
        collector.stop(timeout=5.0)


@pytest.fixture
def collector(start_collector: Callable[..., Collector]) -> Collector:
    return start_collector()


ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.services),
]


@pytest.fixture(params=ENGINES)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A fresh ledger of each engine (PostgreSQL: a schema of its own, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'engine.db'}"
        return
    check_pg()
    schema = f"c_{uuid.uuid4().hex[:16]}"
    yield pg_url(schema)
    pg_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def engine_ledger(ledger_url: str) -> Iterator[LedgerBackend]:
    ledger = open_ledger(ledger_url)
    yield ledger
    ledger.close()
