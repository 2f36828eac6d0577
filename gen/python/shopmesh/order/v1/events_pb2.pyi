from shopmesh.order.v1 import order_service_pb2 as _order_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OrderConfirmed(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_service_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_service_pb2.Order, _Mapping]] = ...) -> None: ...

class OrderFailed(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_service_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_service_pb2.Order, _Mapping]] = ...) -> None: ...

class OrderCancelled(_message.Message):
    __slots__ = ("order",)
    ORDER_FIELD_NUMBER: _ClassVar[int]
    order: _order_service_pb2.Order
    def __init__(self, order: _Optional[_Union[_order_service_pb2.Order, _Mapping]] = ...) -> None: ...
