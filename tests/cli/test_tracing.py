"""OpenTelemetry traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a build sends its span tree (build,
then stages, then steps) to an OTLP/HTTP receiver; without it the SDK is never imported."""

from __future__ import annotations

import gzip
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry


class _Receiver(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector of traces: POST /v1/traces, protobuf bodies, kept decoded."""

    requests: list[ExportTraceServiceRequest]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        self.server.requests.append(request)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _attributes(span: Any) -> dict[str, Any]:
    result = {}
    for item in span.attributes:
        value = item.value
        result[item.key] = getattr(value, value.WhichOneof("value"))
    return result


@pytest.mark.slow
def test_a_build_sends_its_span_tree(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                     receiver: http.server.HTTPServer) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image} AS first\nRUN echo a > /a\n"
                                                  f"FROM {busybox_image}\nCOPY --from=first /a /a\n"
                                                  "ENV X=1\n")
    endpoint = f"http://127.0.0.1:{receiver.server_address[1]}"
    run = run_executor(tmp_path, context, "--destination", registry.ref("traced/image"),
                       env={"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "lamina-test"})
    assert run.returncode == 0, run.stderr
    requests: list[ExportTraceServiceRequest] = receiver.requests  # type: ignore[attr-defined]
    spans = [span for request in requests for resource in request.resource_spans
             for scope in resource.scope_spans for span in scope.spans]
    services = {_attributes(r.resource)["service.name"] for q in requests for r in q.resource_spans}
    assert services == {"lamina-test"}
    by_id = {span.span_id: span for span in spans}
    (build,) = [span for span in spans if not span.parent_span_id]
    assert build.name == "build" and _attributes(build)["lamina.status"] == "succeeded"
    assert _attributes(build)["lamina.image.digest"].startswith("sha256:")

    def children(parent: Any) -> list[Any]:
        return sorted((s for s in spans if s.parent_span_id == parent.span_id), key=lambda s: s.start_time_unix_nano)

    assert [s.name for s in children(build)] == ["stage 0 (first)", "stage 1", "push"]
    first, second, _push = children(build)
    assert _attributes(first)["lamina.stage.name"] == "first"
    assert [s.name for s in children(first) if s.name != "pull"] == ["line 2: RUN"]
    steps = [s for s in children(second) if s.name != "pull"]
    assert [s.name for s in steps] == ["line 4: COPY", "line 5: ENV"]
    run_step = children(first)[-1]
    attributes = _attributes(run_step)
    assert attributes["lamina.step.line"] == 2 and attributes["lamina.step.cache"] == "miss"
    assert attributes["lamina.layer.digest"].startswith("sha256:") and attributes["lamina.layer.size"] > 0
    assert "echo a" in attributes["lamina.step.instruction"]
    for span in spans:  # every child lies within its parent
        if span.parent_span_id:
            parent = by_id[span.parent_span_id]
            assert parent.start_time_unix_nano <= span.start_time_unix_nano
            assert span.end_time_unix_nano <= parent.end_time_unix_nano


def test_the_sdk_is_not_imported_without_the_variable() -> None:
    code = ("import sys, executor.cli.main; "
            "sys.exit(any(m.startswith('opentelemetry') for m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
