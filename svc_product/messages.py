"""Domain objects as contract messages: for RPC answers (servicer) and events (events)."""

from __future__ import annotations

from shopmesh.product.v1 import product_service_pb2 as pb

from meshkit.convert import money_to_proto, timestamp
from meshkit.names import make_name
from svc_product import domain


def product_to_proto(product: domain.Product) -> pb.Product:
    return pb.Product(
        name=make_name("products", product.id),
        sku=product.sku,
        title=product.title,
        description=product.description,
        price=money_to_proto(product.price),
        stock=product.stock,
        create_time=timestamp(product.create_time),
        update_time=timestamp(product.update_time),
    )


def reservation_to_proto(reservation: domain.Reservation) -> pb.Reservation:
    return pb.Reservation(
        reservation_id=reservation.id,
        state=reservation.state,
        items=[
            pb.ReservationItem(
                product=make_name("products", line.product_id),
                quantity=line.quantity,
                unit_price=money_to_proto(line.unit_price) if line.unit_price else None,
                title=line.title,
            )
            for line in reservation.lines
        ],
        create_time=timestamp(reservation.create_time),
    )
