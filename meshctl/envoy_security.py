"""What Envoy does to keep callers where they belong: identity headers nobody can forge, bearer tokens checked
against the users service's keys, request size caps, rate limits, and optional TLS on the public listener.

The public listener's filter chain, in order:
  strip identity headers -> cap REST bodies -> transcode REST -> rate limit -> verify the JWT -> route.
Rate limits and JWT rules come after the transcoder so both see the gRPC path (one rule per RPC whether it came
as gRPC or REST), and rate limiting runs before verification so a flood costs no signature checks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from envoy_data_plane.envoy.config.cluster.v3 import Cluster
from envoy_data_plane.envoy.config.common.mutation_rules.v3 import HeaderMutation as MutationRule
from envoy_data_plane.envoy.config.common.mutation_rules.v3 import HeaderMutationRemoveOnMatch
from envoy_data_plane.envoy.config.core.v3 import (
    DataSource,
    HeaderValue,
    HeaderValueOption,
    HttpUri,
    RuntimeFractionalPercent,
    TransportSocket,
)
from envoy_data_plane.envoy.config.core.v3 import TypedExtensionConfig as CoreTypedExtensionConfig
from envoy_data_plane.envoy.config.route.v3 import (
    RateLimit,
    RateLimitAction,
    RateLimitActionRemoteAddress,
    RouteMatch,
)
from envoy_data_plane.envoy.extensions.common.matching.v3 import ExtensionWithMatcher
from envoy_data_plane.envoy.extensions.common.ratelimit.v3 import (
    LocalRateLimitDescriptor,
    RateLimitDescriptorEntry,
)
from envoy_data_plane.envoy.extensions.filters.common.matcher.action.v3 import SkipFilter
from envoy_data_plane.envoy.extensions.filters.http.buffer.v3 import Buffer
from envoy_data_plane.envoy.extensions.filters.http.header_mutation.v3 import HeaderMutation, Mutations
from envoy_data_plane.envoy.extensions.filters.http.jwt_authn.v3 import (
    JwksAsyncFetch,
    JwtAuthentication,
    JwtProvider,
    JwtRequirement,
    RemoteJwks,
    RequirementRule,
)
from envoy_data_plane.envoy.extensions.filters.http.local_ratelimit.v3 import LocalRateLimit
from envoy_data_plane.envoy.extensions.filters.network.http_connection_manager.v3 import HttpFilter
from envoy_data_plane.envoy.extensions.http.early_header_mutation.header_mutation.v3 import (
    HeaderMutation as EarlyHeaderMutation,
)
from envoy_data_plane.envoy.extensions.transport_sockets.tls.v3 import (
    CommonTlsContext,
    DownstreamTlsContext,
    TlsCertificate,
)
from envoy_data_plane.envoy.type.matcher.v3 import HttpRequestHeaderMatchInput, RegexMatcher, StringMatcher
from envoy_data_plane.envoy.type.v3 import FractionalPercent, FractionalPercentDenominatorType, TokenBucket
from envoy_data_plane.google.protobuf import Any as AnyProto
from envoy_data_plane.xds.core.v3 import TypedExtensionConfig
from envoy_data_plane.xds.type.matcher.v3 import (
    Matcher,
    MatcherMatcherList,
    MatcherMatcherListFieldMatcher,
    MatcherMatcherListPredicate,
    MatcherMatcherListPredicateSinglePredicate,
    MatcherOnMatch,
)
from envoy_data_plane.xds.type.matcher.v3 import StringMatcher as XdsStringMatcher

from meshctl import envoy_policies as policies
from meshctl.envoy_parts import HEALTH_PREFIX, REFLECTION_PREFIXES, sec, single_host_cluster
from meshctl.topology import Gateway
from meshkit.identity import INTERNAL_HEADER, PAYLOAD_HEADER

IDENTITY_PREFIX = "x-shopmesh-"
PROVIDER = "shopmesh"
JWKS_CLUSTER = "jwks"
JWKS_PATH = "/.well-known/jwks.json"
RATE_LIMIT_FILTER = "envoy.filters.http.local_ratelimit"
OPEN_PREFIXES = (*REFLECTION_PREFIXES, HEALTH_PREFIX)


@dataclass(frozen=True)
class Tls:
    """A certificate and key for the public listener (PEM files Envoy can read)."""

    certificate: Path
    private_key: Path


def _filter(name: str, config: Any) -> HttpFilter:
    return HttpFilter(name=name, typed_config=AnyProto.pack(config))


# A header a service's gRPC server would refuse, failing the call with INTERNAL before any handler runs ("Illegal
# header key", "illegal base64 encoding"): a name outside gRPC metadata's [0-9a-z_.-] (HTTP allows "+", "!", ...),
# or a binary ("-bin") one, whose value must be base64. Pseudo-headers (":path") are not metadata and never match.
# The services read no binary metadata, so dropping those loses nothing (a client's grpc-trace-bin included).
UNFORWARDABLE_HEADER = r"[^:0-9a-z_.\-].*|[0-9a-z_.\-]+[^0-9a-z_.\-].*|([^:].*)?-bin"


def strip_client_headers() -> HttpFilter:
    """Removes the headers a client may not pass to the services: every x-shopmesh-* one (only Envoy sets them;
    the services trust them), and the ones gRPC metadata cannot carry (UNFORWARDABLE_HEADER), so such a request
    is served as if they were not there instead of failing with INTERNAL."""
    identity = StringMatcher(prefix=IDENTITY_PREFIX)
    unforwardable = StringMatcher(safe_regex=RegexMatcher(regex=UNFORWARDABLE_HEADER))
    rules = [
        MutationRule(remove_on_match=HeaderMutationRemoveOnMatch(key_matcher=matcher))
        for matcher in (identity, unforwardable)
    ]
    return _filter(
        "envoy.filters.http.header_mutation",
        HeaderMutation(mutations=Mutations(request_mutations=rules)),
    )


def rest_body_cap(gateway: Gateway) -> HttpFilter:
    """Refuses REST bodies over the cap with 413 before they reach the transcoder.

    The transcoder's own max_request_body_size does not stop a body it can stream, so the buffer filter does
    it. Native gRPC skips the filter: a 413 has no gRPC code of its own (clients would see UNKNOWN), buffering
    would stall streams (reflection), and the services refuse messages over the same size with
    RESOURCE_EXHAUSTED themselves.
    """
    is_grpc = MatcherMatcherListPredicate(
        single_predicate=MatcherMatcherListPredicateSinglePredicate(
            input=TypedExtensionConfig(
                name="content-type",
                typed_config=AnyProto.pack(HttpRequestHeaderMatchInput(header_name="content-type")),
            ),
            value_match=XdsStringMatcher(prefix="application/grpc"),
        )
    )
    skip = MatcherOnMatch(action=TypedExtensionConfig(name="skip", typed_config=AnyProto.pack(SkipFilter())))
    matcher = Matcher(
        matcher_list=MatcherMatcherList(
            matchers=[MatcherMatcherListFieldMatcher(predicate=is_grpc, on_match=skip)]
        )
    )
    buffer = CoreTypedExtensionConfig(
        name="envoy.filters.http.buffer",
        typed_config=AnyProto.pack(Buffer(max_request_bytes=gateway.max_request_bytes)),
    )
    return _filter(
        "envoy.filters.http.buffer", ExtensionWithMatcher(xds_matcher=matcher, extension_config=buffer)
    )


DOCS_PATHS = ("/docs", "/docs/")
"""The API reference (envoy_docs): public, like the open RPCs."""


def _jwt_rules(gateway: Gateway) -> list[RequirementRule]:
    """The first matching rule decides: open prefixes, the docs, the open RPCs, then a token for the rest."""
    rules = [RequirementRule(match=RouteMatch(prefix=p)) for p in OPEN_PREFIXES]
    rules += [
        RequirementRule(match=RouteMatch(path=DOCS_PATHS[0])),
        RequirementRule(match=RouteMatch(prefix=DOCS_PATHS[1])),
    ]
    rules += [RequirementRule(match=RouteMatch(path=f"/{rpc}")) for rpc in sorted(gateway.open_rpcs)]
    rules.append(
        RequirementRule(match=RouteMatch(prefix="/"), requires=JwtRequirement(provider_name=PROVIDER))
    )
    return rules


def token_required(gateway: Gateway, path: str) -> bool:
    """Whether the public listener's jwt_authn asks for a token on `path` (a gRPC path, which is what it sees
    behind the transcoder): read from the very rules it is rendered with, first match wins as in Envoy. The
    OpenAPI document marks its operations with this (tools/openapi_post.py)."""
    for rule in _jwt_rules(gateway):
        match = rule.match
        if match is None:
            continue
        if (match.path and match.path == path) or (match.prefix and path.startswith(match.prefix)):
            return rule.requires is not None
    return False


def jwt_authn(gateway: Gateway) -> HttpFilter:
    """Bearer tokens from UserService.Login, verified against the users service's JWKS.

    The keys are fetched from Envoy's own internal listener (GET /.well-known/jwks.json, transcoded to
    UserService.GetJwks), so they stay current and nothing has to be copied into Envoy's configuration, locally
    or on Kubernetes. The fetch runs on the main thread and serves every worker; it does not hold up Envoy's
    start (fast_listener: a listener waiting for it would wait for a fetch through Envoy's own internal listener,
    which is not serving yet either, so it would fail after its timeout anyway); it is retried every quarter
    second until the users service answers, then refetched in the background `jwks_cache_seconds` - 5 s later,
    the old keys serving until the new ones arrive. The users service publishes a key before it signs with it
    for longer than that period, so no token reaches Envoy before its key does (svc_user.keyring).
    """
    provider = JwtProvider(
        issuer=gateway.jwt_issuer,
        audiences=[gateway.jwt_audience],
        remote_jwks=RemoteJwks(
            http_uri=HttpUri(
                uri=f"http://127.0.0.1:{gateway.internal_port}{JWKS_PATH}",
                cluster=JWKS_CLUSTER,
                timeout=sec(2),
            ),
            cache_duration=sec(gateway.jwks_cache_seconds),
            async_fetch=JwksAsyncFetch(fast_listener=True, failed_refetch_duration=sec(0.25)),
        ),
        forward=False,  # the token itself stops here; the services get its verified payload
        forward_payload_header=PAYLOAD_HEADER,
        failed_status_in_metadata=policies.JWT_FAILURE_KEY,  # local replies turn every refusal into a 401
        clock_skew_seconds=30,
    )
    return _filter(
        "envoy.filters.http.jwt_authn",
        JwtAuthentication(providers={PROVIDER: provider}, rules=_jwt_rules(gateway)),
    )


CLIENT_TRACE_HEADERS = ("x-client-trace-id", "x-envoy-force-trace")
"""Headers with which a caller forces Envoy to trace a request (the second only from "internal" addresses,
which by Envoy's defaults include private networks)."""


def strip_client_trace(gateway: Gateway) -> list[CoreTypedExtensionConfig]:
    """The public listener's early header mutations: removing the headers that force a trace, unless the
    topology trusts clients with them (`gateway.trust_client_trace_id`). Early, because the connection manager
    decides on tracing before any filter or route sees the request."""
    if gateway.trust_client_trace_id:
        return []
    remove = [MutationRule(remove=name) for name in CLIENT_TRACE_HEADERS]
    return [
        CoreTypedExtensionConfig(
            name="envoy.http.early_header_mutation.header_mutation",
            typed_config=AnyProto.pack(EarlyHeaderMutation(mutations=remove)),
        )
    ]


def rate_limit_filter() -> HttpFilter:
    """The local rate limit filter; its buckets are set per route (route_rate_limit)."""
    return _filter(RATE_LIMIT_FILTER, LocalRateLimit(stat_prefix="public_rate_limit"))


def _bucket(per_second: int) -> TokenBucket:
    return TokenBucket(max_tokens=per_second, tokens_per_fill=per_second, fill_interval=sec(1))


def route_rate_limit(gateway: Gateway, path: str) -> dict[str, AnyProto]:
    """A ceiling for one public RPC across all callers, and for Login a bucket per client address too.

    Callers over a limit get RESOURCE_EXHAUSTED (HTTP 429) at once rather than UNAVAILABLE, which clients retry.
    """
    always = RuntimeFractionalPercent(
        default_value=FractionalPercent(numerator=100, denominator=FractionalPercentDenominatorType.HUNDRED)
    )
    config = LocalRateLimit(
        stat_prefix="public_rate_limit",
        token_bucket=_bucket(gateway.route_rate_limit),
        filter_enabled=always,
        filter_enforced=always,
        rate_limited_as_resource_exhausted=True,
        response_headers_to_add=[
            HeaderValueOption(header=HeaderValue(key="x-local-rate-limit", value="true"))
        ],
    )
    if path == f"/{gateway.login_rpc}":
        # An empty descriptor value is a wildcard: one bucket per distinct client address.
        config.descriptors = [
            LocalRateLimitDescriptor(
                entries=[RateLimitDescriptorEntry(key="remote_address")],
                token_bucket=_bucket(gateway.login_rate_per_client),
            )
        ]
        config.rate_limits = [
            RateLimit(actions=[RateLimitAction(remote_address=RateLimitActionRemoteAddress())])
        ]
        config.max_dynamic_descriptors = 10_000
    return {RATE_LIMIT_FILTER: AnyProto.pack(config)}


def internal_marker() -> list[HeaderValueOption]:
    """Set on every call through the internal listener: services treat such calls as trusted peers."""
    return [HeaderValueOption(header=HeaderValue(key=INTERNAL_HEADER, value="true"))]


def jwks_cluster(gateway: Gateway) -> Cluster:
    """Envoy's own internal listener, where jwt_authn fetches the keys (plain HTTP/1.1 on loopback)."""
    return single_host_cluster(JWKS_CLUSTER, "127.0.0.1", gateway.internal_port, 1)


def downstream_tls(tls: Tls) -> TransportSocket:
    """TLS on the public listener; ALPN offers h2 (gRPC) and http/1.1 (REST clients)."""
    context = DownstreamTlsContext(
        common_tls_context=CommonTlsContext(
            tls_certificates=[
                TlsCertificate(
                    certificate_chain=DataSource(filename=str(tls.certificate)),
                    private_key=DataSource(filename=str(tls.private_key)),
                )
            ],
            alpn_protocols=["h2", "http/1.1"],
        )
    )
    return TransportSocket(name="envoy.transport_sockets.tls", typed_config=AnyProto.pack(context))


def self_signed(directory: Path, hosts: Iterable[str] = ("localhost", "127.0.0.1")) -> Tls:
    """A self-signed certificate for `hosts` (names and IP addresses), made once and reused after.

    For local use only (`make up UP_ARGS=--tls`): clients trust it by pinning the file (curl --cacert,
    grpcurl -cacert). The key is P-256 and the certificate is valid for a year.
    """
    cert_path, key_path = directory / "gateway.crt", directory / "gateway.key"
    if cert_path.exists() and key_path.exists():
        return Tls(cert_path, key_path)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shopmesh local gateway")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        # A CA too, so that clients can pin it as their trust root.
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Tls(cert_path, key_path)
