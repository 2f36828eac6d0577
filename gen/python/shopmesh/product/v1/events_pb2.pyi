from shopmesh.product.v1 import product_service_pb2 as _product_service_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProductChanged(_message.Message):
    __slots__ = ("product", "change")
    class Change(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        CHANGE_UNSPECIFIED: _ClassVar[ProductChanged.Change]
        CREATED: _ClassVar[ProductChanged.Change]
        UPDATED: _ClassVar[ProductChanged.Change]
        STOCK: _ClassVar[ProductChanged.Change]
    CHANGE_UNSPECIFIED: ProductChanged.Change
    CREATED: ProductChanged.Change
    UPDATED: ProductChanged.Change
    STOCK: ProductChanged.Change
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_FIELD_NUMBER: _ClassVar[int]
    product: _product_service_pb2.Product
    change: ProductChanged.Change
    def __init__(self, product: _Optional[_Union[_product_service_pb2.Product, _Mapping]] = ..., change: _Optional[_Union[ProductChanged.Change, str]] = ...) -> None: ...
