from shopmesh.payment.v1 import payment_service_pb2 as _payment_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PaymentCaptured(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: _payment_service_pb2.Payment
    def __init__(self, payment: _Optional[_Union[_payment_service_pb2.Payment, _Mapping]] = ...) -> None: ...

class PaymentRefunded(_message.Message):
    __slots__ = ("payment",)
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    payment: _payment_service_pb2.Payment
    def __init__(self, payment: _Optional[_Union[_payment_service_pb2.Payment, _Mapping]] = ...) -> None: ...
