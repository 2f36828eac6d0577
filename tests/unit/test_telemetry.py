"""Tracing is chosen by the standard OTEL_* variables and costs nothing when off."""

from __future__ import annotations

import pytest

from meshkit.settings import SettingsError, load_server_settings
from meshkit.telemetry import Tracing, TracingSettings


def test_tracing_is_off_by_default_and_installs_nothing() -> None:
    settings = TracingSettings.from_env({})
    assert settings.exporter == "none"
    tracing = Tracing(load_server_settings("products", "SVC_PRODUCT", 0, {}), settings)
    assert tracing.server_interceptor() is None and tracing.client_interceptors() == []


def test_sdk_disabled_wins_over_an_exporter() -> None:
    env = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}
    assert TracingSettings.from_env(env).exporter == "none"


def test_unknown_exporter_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="OTEL_TRACES_EXPORTER='zipkin'"):
        TracingSettings.from_env({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_an_exporter_installs_server_and_client_interceptors() -> None:
    settings = load_server_settings("orders", "SVC_ORDER", 0, {"SHOPMESH_REPLICA": "orders-7"})
    tracing = Tracing(settings, TracingSettings.from_env({"OTEL_TRACES_EXPORTER": "otlp"}))
    try:
        assert tracing.server_interceptor() is not None and tracing.follows_caller
        assert len(tracing.client_interceptors()) == 1
        resource = tracing.provider.resource.attributes
        assert resource["service.name"] == "shopmesh-orders"
        assert resource["service.instance.id"] == "orders-7"
    finally:
        tracing.shutdown()
