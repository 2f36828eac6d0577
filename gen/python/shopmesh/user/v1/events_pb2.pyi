from shopmesh.user.v1 import user_service_pb2 as _user_service_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserCreated(_message.Message):
    __slots__ = ("user",)
    USER_FIELD_NUMBER: _ClassVar[int]
    user: _user_service_pb2.User
    def __init__(self, user: _Optional[_Union[_user_service_pb2.User, _Mapping]] = ...) -> None: ...
