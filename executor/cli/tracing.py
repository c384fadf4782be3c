"""OpenTelemetry traces of a build, as the kaniko fork sends them: when
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set, the build's
record becomes a span tree (build, then each stage, then each step; pull and push phases beside
them) exported over OTLP/HTTP once the build ends. The SDK reads the other ``OTEL_*`` variables
(headers, service name, resource attributes, timeout) itself.

The SDK is imported only when a variable asks for traces: most builds never pay for it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from executor.cli.report import BuildRecord, StageRecord, StepRecord

__all__ = ["ENDPOINT_VARIABLES", "export_trace", "tracing_requested"]

log = logging.getLogger("lamina")

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_NS = 1_000_000_000


def tracing_requested(env: Mapping[str, str]) -> bool:
    return any(env.get(name) for name in ENDPOINT_VARIABLES)


def _ns(seconds: float) -> int:
    return int(seconds * _NS)


def _step_attributes(step: StepRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {"lamina.step.line": step.line, "lamina.step.keyword": step.keyword,
                                  "lamina.step.instruction": step.instruction,
                                  "lamina.step.cache": "hit" if step.cached else "miss",
                                  "lamina.step.snapshot_seconds": round(step.layer_seconds, 3)}
    if step.cache_key:
        attributes["lamina.step.cache_key"] = step.cache_key
    if step.layer_digest:
        attributes["lamina.layer.digest"] = step.layer_digest
    if step.layer_size is not None:
        attributes["lamina.layer.size"] = step.layer_size
    return attributes


def _stage_attributes(stage: StageRecord) -> dict[str, Any]:
    attributes: dict[str, Any] = {"lamina.stage.index": stage.index,
                                  "lamina.stage.all_cached": stage.all_cached}
    for key, value in (("name", stage.name), ("platform", stage.platform), ("target", stage.target),
                       ("shared_with", stage.shared_with)):
        if value:
            attributes[f"lamina.stage.{key}"] = value
    return attributes


def export_trace(record: BuildRecord, service_version: str) -> None:
    """Send ``record`` as spans to the OTLP/HTTP endpoint the environment names. A collector
    that cannot be reached costs a warning, never the build."""
    try:
        _export(record, service_version)
    except Exception as error:  # the SDK's or the collector's trouble is not the build's
        log.warning("OpenTelemetry: the build's trace was not exported: %s", error)


def _export(record: BuildRecord, service_version: str) -> None:
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.version": service_version})  # reads OTEL_SERVICE_NAME too
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "lamina"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("lamina.build")
    ended = record.ended or record.started
    build = tracer.start_span("build", start_time=_ns(record.started), attributes={
        "lamina.status": "failed" if record.error else "succeeded",
        **({"lamina.image.digest": record.image_digest} if record.image_digest else {}),
        "lamina.pushed": [f"{p['destination']}@{p['digest']}" for p in record.pushed]})
    context = trace.set_span_in_context(build)
    for stage in record.stages:
        _stage_span(tracer, context, stage, trace)
    if record.output_started is not None:
        tracer.start_span("push", context=context, start_time=_ns(record.output_started)).end(_ns(ended))
    if record.error:
        build.set_status(trace.Status(trace.StatusCode.ERROR, record.error))
    build.end(end_time=_ns(ended))
    provider.shutdown()  # flushes the batch: the process exits right after


def _stage_span(tracer: Any, parent: Any, stage: StageRecord, trace: Any) -> None:
    span = tracer.start_span(f"stage {stage.index}" + (f" ({stage.name})" if stage.name else ""),
                             context=parent, start_time=_ns(stage.started),
                             attributes=_stage_attributes(stage))
    context = trace.set_span_in_context(span)
    if stage.prepare_seconds > 0:
        tracer.start_span("pull", context=context, start_time=_ns(stage.started)).end(
            _ns(stage.started + stage.prepare_seconds))
    for step in stage.steps:
        child = tracer.start_span(f"line {step.line}: {step.keyword}", context=context,
                                  start_time=_ns(step.started), attributes=_step_attributes(step))
        if step.failed:
            child.set_status(trace.Status(trace.StatusCode.ERROR, "the step failed"))
            span.set_status(trace.Status(trace.StatusCode.ERROR, "a step failed"))
        child.end(end_time=_ns(step.ended or step.started))
    span.end(end_time=_ns(stage.ended or stage.started))
