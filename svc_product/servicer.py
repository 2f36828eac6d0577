"""ProductService over gRPC: requests to plain values, results to messages."""

from __future__ import annotations

import grpc
from shopmesh.product.v1 import product_service_pb2 as pb
from shopmesh.product.v1 import product_service_pb2_grpc as pb_grpc

from meshkit import paging
from meshkit.convert import money_from_proto
from meshkit.errors import Violations
from meshkit.idempotency import request_key
from meshkit.identity import identity_of
from meshkit.names import parse_name
from svc_product import domain
from svc_product.cache import CacheSettings, CatalogCache
from svc_product.messages import product_to_proto, reservation_to_proto
from svc_product.services import Catalog

_UPDATABLE = ("title", "description", "price", "stock")
_IMMUTABLE = ("name", "sku", "create_time", "update_time")


def _fields(product: pb.Product, paths: set[str], violations: Violations) -> domain.ProductFields:
    price = None
    if "price" in paths:
        if product.HasField("price"):
            price = money_from_proto(product.price, "product.price", violations)
        else:
            violations.add("product.price", "is required")
    return domain.ProductFields(
        title=product.title if "title" in paths else None,
        description=product.description if "description" in paths else None,
        price=price,
        stock=product.stock if "stock" in paths else None,
    )


def _update_paths(request: pb.UpdateProductRequest) -> set[str]:
    paths = list(request.update_mask.paths)
    if not paths:
        product = request.product
        return {
            p
            for p in _UPDATABLE
            if (p == "price" and product.HasField("price")) or (p != "price" and getattr(product, p))
        }
    if paths == ["*"]:
        return set(_UPDATABLE)
    violations = Violations()
    for path in paths:
        if path in _IMMUTABLE:
            violations.add("update_mask", f"{path!r} cannot be changed")
        elif path not in _UPDATABLE:
            violations.add("update_mask", f"unknown field {path!r}; updatable: {', '.join(_UPDATABLE)}")
    violations.raise_if_any()
    return set(paths)


class ProductServicer(pb_grpc.ProductServiceServicer):
    def __init__(self, catalog: Catalog, cache: CatalogCache | None = None) -> None:
        self._catalog = catalog
        # HTTP caching (Cache-Control) is the gateway's: envoy/topology.toml, gateway.public_cache_seconds.
        self._cache = cache or CatalogCache(CacheSettings(products=0, pages=0))

    def CreateProduct(self, request: pb.CreateProductRequest, context: grpc.ServicerContext) -> pb.Product:
        identity_of(context).require_admin()
        violations = Violations()
        fields = _fields(request.product, {"title", "description", "price", "stock"}, violations)
        domain.check_fields(fields, "product", violations)
        violations.raise_if_any()
        key = request_key(request.request_id, context)
        return product_to_proto(self._catalog.create_product(request.product.sku, fields, key))

    def GetProduct(self, request: pb.GetProductRequest, unused_context: grpc.ServicerContext) -> pb.Product:
        product_id = parse_name(request.name, "products", "name")
        return self._cache.product(
            product_id, lambda: product_to_proto(self._catalog.get_product(product_id))
        )

    def ListProducts(
        self, request: pb.ListProductsRequest, unused_context: grpc.ServicerContext
    ) -> pb.ListProductsResponse:
        limit = paging.page_size(request.page_size)
        after = paging.decode_token(request.page_token)

        def load() -> tuple[pb.ListProductsResponse, bool]:
            items, next_after = self._catalog.list_products(after, limit)
            page = pb.ListProductsResponse(
                products=[product_to_proto(p) for p in items],
                next_page_token=paging.encode_token(next_after) if next_after is not None else "",
            )
            return page, next_after is None

        return self._cache.page((after, limit), load)

    def UpdateProduct(self, request: pb.UpdateProductRequest, context: grpc.ServicerContext) -> pb.Product:
        identity_of(context).require_admin()
        product_id = parse_name(request.product.name, "products", "product.name")
        paths = _update_paths(request)
        violations = Violations()
        fields = _fields(request.product, paths, violations)
        domain.check_fields(fields, "product", violations)
        violations.raise_if_any()
        return product_to_proto(self._catalog.update_product(product_id, fields))

    def ReserveStock(
        self, request: pb.ReserveStockRequest, unused_context: grpc.ServicerContext
    ) -> pb.Reservation:
        violations = Violations()
        lines: list[domain.ReservationLine] = []
        seen: set[str] = set()
        for i, item in enumerate(request.items):
            product_id = parse_name(item.product, "products", f"items[{i}].product")
            if product_id in seen:
                violations.add(f"items[{i}].product", "appears more than once")
            seen.add(product_id)
            lines.append(domain.ReservationLine(product_id, item.quantity))
        violations.raise_if_any()
        return reservation_to_proto(self._catalog.reserve_stock(request.reservation_id, lines))

    def ReleaseStock(
        self, request: pb.ReleaseStockRequest, unused_context: grpc.ServicerContext
    ) -> pb.Reservation:
        return reservation_to_proto(self._catalog.release_stock(request.reservation_id))
