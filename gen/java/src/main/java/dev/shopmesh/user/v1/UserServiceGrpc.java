package dev.shopmesh.user.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * UserService owns accounts and authentication. It issues the signed access
 * tokens every other service trusts and publishes the keys that verify them.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class UserServiceGrpc {

  private UserServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "shopmesh.user.v1.UserService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.user.v1.CreateUserRequest,
      dev.shopmesh.user.v1.User> getCreateUserMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateUser",
      requestType = dev.shopmesh.user.v1.CreateUserRequest.class,
      responseType = dev.shopmesh.user.v1.User.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.user.v1.CreateUserRequest,
      dev.shopmesh.user.v1.User> getCreateUserMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.user.v1.CreateUserRequest, dev.shopmesh.user.v1.User> getCreateUserMethod;
    if ((getCreateUserMethod = UserServiceGrpc.getCreateUserMethod) == null) {
      synchronized (UserServiceGrpc.class) {
        if ((getCreateUserMethod = UserServiceGrpc.getCreateUserMethod) == null) {
          UserServiceGrpc.getCreateUserMethod = getCreateUserMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.user.v1.CreateUserRequest, dev.shopmesh.user.v1.User>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateUser"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.CreateUserRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.User.getDefaultInstance()))
              .setSchemaDescriptor(new UserServiceMethodDescriptorSupplier("CreateUser"))
              .build();
        }
      }
    }
    return getCreateUserMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.user.v1.GetUserRequest,
      dev.shopmesh.user.v1.User> getGetUserMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetUser",
      requestType = dev.shopmesh.user.v1.GetUserRequest.class,
      responseType = dev.shopmesh.user.v1.User.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.user.v1.GetUserRequest,
      dev.shopmesh.user.v1.User> getGetUserMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.user.v1.GetUserRequest, dev.shopmesh.user.v1.User> getGetUserMethod;
    if ((getGetUserMethod = UserServiceGrpc.getGetUserMethod) == null) {
      synchronized (UserServiceGrpc.class) {
        if ((getGetUserMethod = UserServiceGrpc.getGetUserMethod) == null) {
          UserServiceGrpc.getGetUserMethod = getGetUserMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.user.v1.GetUserRequest, dev.shopmesh.user.v1.User>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetUser"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.GetUserRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.User.getDefaultInstance()))
              .setSchemaDescriptor(new UserServiceMethodDescriptorSupplier("GetUser"))
              .build();
        }
      }
    }
    return getGetUserMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.user.v1.LoginRequest,
      dev.shopmesh.user.v1.LoginResponse> getLoginMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Login",
      requestType = dev.shopmesh.user.v1.LoginRequest.class,
      responseType = dev.shopmesh.user.v1.LoginResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.user.v1.LoginRequest,
      dev.shopmesh.user.v1.LoginResponse> getLoginMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.user.v1.LoginRequest, dev.shopmesh.user.v1.LoginResponse> getLoginMethod;
    if ((getLoginMethod = UserServiceGrpc.getLoginMethod) == null) {
      synchronized (UserServiceGrpc.class) {
        if ((getLoginMethod = UserServiceGrpc.getLoginMethod) == null) {
          UserServiceGrpc.getLoginMethod = getLoginMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.user.v1.LoginRequest, dev.shopmesh.user.v1.LoginResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Login"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.LoginRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.LoginResponse.getDefaultInstance()))
              .setSchemaDescriptor(new UserServiceMethodDescriptorSupplier("Login"))
              .build();
        }
      }
    }
    return getLoginMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.user.v1.GetJwksRequest,
      dev.shopmesh.user.v1.GetJwksResponse> getGetJwksMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetJwks",
      requestType = dev.shopmesh.user.v1.GetJwksRequest.class,
      responseType = dev.shopmesh.user.v1.GetJwksResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.user.v1.GetJwksRequest,
      dev.shopmesh.user.v1.GetJwksResponse> getGetJwksMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.user.v1.GetJwksRequest, dev.shopmesh.user.v1.GetJwksResponse> getGetJwksMethod;
    if ((getGetJwksMethod = UserServiceGrpc.getGetJwksMethod) == null) {
      synchronized (UserServiceGrpc.class) {
        if ((getGetJwksMethod = UserServiceGrpc.getGetJwksMethod) == null) {
          UserServiceGrpc.getGetJwksMethod = getGetJwksMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.user.v1.GetJwksRequest, dev.shopmesh.user.v1.GetJwksResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetJwks"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.GetJwksRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.user.v1.GetJwksResponse.getDefaultInstance()))
              .setSchemaDescriptor(new UserServiceMethodDescriptorSupplier("GetJwks"))
              .build();
        }
      }
    }
    return getGetJwksMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static UserServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<UserServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<UserServiceStub>() {
        @java.lang.Override
        public UserServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new UserServiceStub(channel, callOptions);
        }
      };
    return UserServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static UserServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<UserServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<UserServiceBlockingV2Stub>() {
        @java.lang.Override
        public UserServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new UserServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return UserServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static UserServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<UserServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<UserServiceBlockingStub>() {
        @java.lang.Override
        public UserServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new UserServiceBlockingStub(channel, callOptions);
        }
      };
    return UserServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static UserServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<UserServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<UserServiceFutureStub>() {
        @java.lang.Override
        public UserServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new UserServiceFutureStub(channel, callOptions);
        }
      };
    return UserServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * UserService owns accounts and authentication. It issues the signed access
   * tokens every other service trusts and publishes the keys that verify them.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Creates an account. A second account with the same email (compared
     * case-insensitively) fails with ALREADY_EXISTS.
     * </pre>
     */
    default void createUser(dev.shopmesh.user.v1.CreateUserRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.User> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateUserMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one account by resource name.
     * </pre>
     */
    default void getUser(dev.shopmesh.user.v1.GetUserRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.User> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetUserMethod(), responseObserver);
    }

    /**
     * <pre>
     * Exchanges an email and password for a signed JWT access token. A wrong
     * email and a wrong password fail alike, with UNAUTHENTICATED.
     * </pre>
     */
    default void login(dev.shopmesh.user.v1.LoginRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.LoginResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getLoginMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns the public keys that verify access tokens, as a JSON Web Key Set
     * (RFC 7517). Over REST the body is a plain JWKS document.
     * </pre>
     */
    default void getJwks(dev.shopmesh.user.v1.GetJwksRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.GetJwksResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetJwksMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service UserService.
   * <pre>
   * UserService owns accounts and authentication. It issues the signed access
   * tokens every other service trusts and publishes the keys that verify them.
   * </pre>
   */
  public static abstract class UserServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return UserServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service UserService.
   * <pre>
   * UserService owns accounts and authentication. It issues the signed access
   * tokens every other service trusts and publishes the keys that verify them.
   * </pre>
   */
  public static final class UserServiceStub
      extends io.grpc.stub.AbstractAsyncStub<UserServiceStub> {
    private UserServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected UserServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new UserServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates an account. A second account with the same email (compared
     * case-insensitively) fails with ALREADY_EXISTS.
     * </pre>
     */
    public void createUser(dev.shopmesh.user.v1.CreateUserRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.User> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateUserMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one account by resource name.
     * </pre>
     */
    public void getUser(dev.shopmesh.user.v1.GetUserRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.User> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetUserMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Exchanges an email and password for a signed JWT access token. A wrong
     * email and a wrong password fail alike, with UNAUTHENTICATED.
     * </pre>
     */
    public void login(dev.shopmesh.user.v1.LoginRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.LoginResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getLoginMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns the public keys that verify access tokens, as a JSON Web Key Set
     * (RFC 7517). Over REST the body is a plain JWKS document.
     * </pre>
     */
    public void getJwks(dev.shopmesh.user.v1.GetJwksRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.GetJwksResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetJwksMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service UserService.
   * <pre>
   * UserService owns accounts and authentication. It issues the signed access
   * tokens every other service trusts and publishes the keys that verify them.
   * </pre>
   */
  public static final class UserServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<UserServiceBlockingV2Stub> {
    private UserServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected UserServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new UserServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates an account. A second account with the same email (compared
     * case-insensitively) fails with ALREADY_EXISTS.
     * </pre>
     */
    public dev.shopmesh.user.v1.User createUser(dev.shopmesh.user.v1.CreateUserRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateUserMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one account by resource name.
     * </pre>
     */
    public dev.shopmesh.user.v1.User getUser(dev.shopmesh.user.v1.GetUserRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetUserMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Exchanges an email and password for a signed JWT access token. A wrong
     * email and a wrong password fail alike, with UNAUTHENTICATED.
     * </pre>
     */
    public dev.shopmesh.user.v1.LoginResponse login(dev.shopmesh.user.v1.LoginRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getLoginMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the public keys that verify access tokens, as a JSON Web Key Set
     * (RFC 7517). Over REST the body is a plain JWKS document.
     * </pre>
     */
    public dev.shopmesh.user.v1.GetJwksResponse getJwks(dev.shopmesh.user.v1.GetJwksRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetJwksMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service UserService.
   * <pre>
   * UserService owns accounts and authentication. It issues the signed access
   * tokens every other service trusts and publishes the keys that verify them.
   * </pre>
   */
  public static final class UserServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<UserServiceBlockingStub> {
    private UserServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected UserServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new UserServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates an account. A second account with the same email (compared
     * case-insensitively) fails with ALREADY_EXISTS.
     * </pre>
     */
    public dev.shopmesh.user.v1.User createUser(dev.shopmesh.user.v1.CreateUserRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateUserMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one account by resource name.
     * </pre>
     */
    public dev.shopmesh.user.v1.User getUser(dev.shopmesh.user.v1.GetUserRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetUserMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Exchanges an email and password for a signed JWT access token. A wrong
     * email and a wrong password fail alike, with UNAUTHENTICATED.
     * </pre>
     */
    public dev.shopmesh.user.v1.LoginResponse login(dev.shopmesh.user.v1.LoginRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getLoginMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns the public keys that verify access tokens, as a JSON Web Key Set
     * (RFC 7517). Over REST the body is a plain JWKS document.
     * </pre>
     */
    public dev.shopmesh.user.v1.GetJwksResponse getJwks(dev.shopmesh.user.v1.GetJwksRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetJwksMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service UserService.
   * <pre>
   * UserService owns accounts and authentication. It issues the signed access
   * tokens every other service trusts and publishes the keys that verify them.
   * </pre>
   */
  public static final class UserServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<UserServiceFutureStub> {
    private UserServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected UserServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new UserServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Creates an account. A second account with the same email (compared
     * case-insensitively) fails with ALREADY_EXISTS.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.user.v1.User> createUser(
        dev.shopmesh.user.v1.CreateUserRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateUserMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one account by resource name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.user.v1.User> getUser(
        dev.shopmesh.user.v1.GetUserRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetUserMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Exchanges an email and password for a signed JWT access token. A wrong
     * email and a wrong password fail alike, with UNAUTHENTICATED.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.user.v1.LoginResponse> login(
        dev.shopmesh.user.v1.LoginRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getLoginMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns the public keys that verify access tokens, as a JSON Web Key Set
     * (RFC 7517). Over REST the body is a plain JWKS document.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.user.v1.GetJwksResponse> getJwks(
        dev.shopmesh.user.v1.GetJwksRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetJwksMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_USER = 0;
  private static final int METHODID_GET_USER = 1;
  private static final int METHODID_LOGIN = 2;
  private static final int METHODID_GET_JWKS = 3;

  private static final class MethodHandlers<Req, Resp> implements
      io.grpc.stub.ServerCalls.UnaryMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ServerStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.ClientStreamingMethod<Req, Resp>,
      io.grpc.stub.ServerCalls.BidiStreamingMethod<Req, Resp> {
    private final AsyncService serviceImpl;
    private final int methodId;

    MethodHandlers(AsyncService serviceImpl, int methodId) {
      this.serviceImpl = serviceImpl;
      this.methodId = methodId;
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public void invoke(Req request, io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        case METHODID_CREATE_USER:
          serviceImpl.createUser((dev.shopmesh.user.v1.CreateUserRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.User>) responseObserver);
          break;
        case METHODID_GET_USER:
          serviceImpl.getUser((dev.shopmesh.user.v1.GetUserRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.User>) responseObserver);
          break;
        case METHODID_LOGIN:
          serviceImpl.login((dev.shopmesh.user.v1.LoginRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.LoginResponse>) responseObserver);
          break;
        case METHODID_GET_JWKS:
          serviceImpl.getJwks((dev.shopmesh.user.v1.GetJwksRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.user.v1.GetJwksResponse>) responseObserver);
          break;
        default:
          throw new AssertionError();
      }
    }

    @java.lang.Override
    @java.lang.SuppressWarnings("unchecked")
    public io.grpc.stub.StreamObserver<Req> invoke(
        io.grpc.stub.StreamObserver<Resp> responseObserver) {
      switch (methodId) {
        default:
          throw new AssertionError();
      }
    }
  }

  public static final io.grpc.ServerServiceDefinition bindService(AsyncService service) {
    return io.grpc.ServerServiceDefinition.builder(getServiceDescriptor())
        .addMethod(
          getCreateUserMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.user.v1.CreateUserRequest,
              dev.shopmesh.user.v1.User>(
                service, METHODID_CREATE_USER)))
        .addMethod(
          getGetUserMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.user.v1.GetUserRequest,
              dev.shopmesh.user.v1.User>(
                service, METHODID_GET_USER)))
        .addMethod(
          getLoginMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.user.v1.LoginRequest,
              dev.shopmesh.user.v1.LoginResponse>(
                service, METHODID_LOGIN)))
        .addMethod(
          getGetJwksMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.user.v1.GetJwksRequest,
              dev.shopmesh.user.v1.GetJwksResponse>(
                service, METHODID_GET_JWKS)))
        .build();
  }

  private static abstract class UserServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    UserServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.shopmesh.user.v1.UserServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("UserService");
    }
  }

  private static final class UserServiceFileDescriptorSupplier
      extends UserServiceBaseDescriptorSupplier {
    UserServiceFileDescriptorSupplier() {}
  }

  private static final class UserServiceMethodDescriptorSupplier
      extends UserServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    UserServiceMethodDescriptorSupplier(java.lang.String methodName) {
      this.methodName = methodName;
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.MethodDescriptor getMethodDescriptor() {
      return getServiceDescriptor().findMethodByName(methodName);
    }
  }

  private static volatile io.grpc.ServiceDescriptor serviceDescriptor;

  public static io.grpc.ServiceDescriptor getServiceDescriptor() {
    io.grpc.ServiceDescriptor result = serviceDescriptor;
    if (result == null) {
      synchronized (UserServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new UserServiceFileDescriptorSupplier())
              .addMethod(getCreateUserMethod())
              .addMethod(getGetUserMethod())
              .addMethod(getLoginMethod())
              .addMethod(getGetJwksMethod())
              .build();
        }
      }
    }
    return result;
  }
}
