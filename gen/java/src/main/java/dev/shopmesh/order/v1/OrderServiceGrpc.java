package dev.shopmesh.order.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * OrderService runs checkout: it prices the items from the catalog, reserves
 * the stock, charges the card and confirms the order, undoing what it did
 * when a later step fails.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class OrderServiceGrpc {

  private OrderServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "shopmesh.order.v1.OrderService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.order.v1.CreateOrderRequest,
      dev.shopmesh.order.v1.Order> getCreateOrderMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateOrder",
      requestType = dev.shopmesh.order.v1.CreateOrderRequest.class,
      responseType = dev.shopmesh.order.v1.Order.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.order.v1.CreateOrderRequest,
      dev.shopmesh.order.v1.Order> getCreateOrderMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.order.v1.CreateOrderRequest, dev.shopmesh.order.v1.Order> getCreateOrderMethod;
    if ((getCreateOrderMethod = OrderServiceGrpc.getCreateOrderMethod) == null) {
      synchronized (OrderServiceGrpc.class) {
        if ((getCreateOrderMethod = OrderServiceGrpc.getCreateOrderMethod) == null) {
          OrderServiceGrpc.getCreateOrderMethod = getCreateOrderMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.order.v1.CreateOrderRequest, dev.shopmesh.order.v1.Order>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateOrder"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.CreateOrderRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.Order.getDefaultInstance()))
              .setSchemaDescriptor(new OrderServiceMethodDescriptorSupplier("CreateOrder"))
              .build();
        }
      }
    }
    return getCreateOrderMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.order.v1.GetOrderRequest,
      dev.shopmesh.order.v1.Order> getGetOrderMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetOrder",
      requestType = dev.shopmesh.order.v1.GetOrderRequest.class,
      responseType = dev.shopmesh.order.v1.Order.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.order.v1.GetOrderRequest,
      dev.shopmesh.order.v1.Order> getGetOrderMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.order.v1.GetOrderRequest, dev.shopmesh.order.v1.Order> getGetOrderMethod;
    if ((getGetOrderMethod = OrderServiceGrpc.getGetOrderMethod) == null) {
      synchronized (OrderServiceGrpc.class) {
        if ((getGetOrderMethod = OrderServiceGrpc.getGetOrderMethod) == null) {
          OrderServiceGrpc.getGetOrderMethod = getGetOrderMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.order.v1.GetOrderRequest, dev.shopmesh.order.v1.Order>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetOrder"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.GetOrderRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.Order.getDefaultInstance()))
              .setSchemaDescriptor(new OrderServiceMethodDescriptorSupplier("GetOrder"))
              .build();
        }
      }
    }
    return getGetOrderMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.order.v1.ListOrdersRequest,
      dev.shopmesh.order.v1.ListOrdersResponse> getListOrdersMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListOrders",
      requestType = dev.shopmesh.order.v1.ListOrdersRequest.class,
      responseType = dev.shopmesh.order.v1.ListOrdersResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.order.v1.ListOrdersRequest,
      dev.shopmesh.order.v1.ListOrdersResponse> getListOrdersMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.order.v1.ListOrdersRequest, dev.shopmesh.order.v1.ListOrdersResponse> getListOrdersMethod;
    if ((getListOrdersMethod = OrderServiceGrpc.getListOrdersMethod) == null) {
      synchronized (OrderServiceGrpc.class) {
        if ((getListOrdersMethod = OrderServiceGrpc.getListOrdersMethod) == null) {
          OrderServiceGrpc.getListOrdersMethod = getListOrdersMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.order.v1.ListOrdersRequest, dev.shopmesh.order.v1.ListOrdersResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListOrders"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.ListOrdersRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.ListOrdersResponse.getDefaultInstance()))
              .setSchemaDescriptor(new OrderServiceMethodDescriptorSupplier("ListOrders"))
              .build();
        }
      }
    }
    return getListOrdersMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.order.v1.CancelOrderRequest,
      dev.shopmesh.order.v1.Order> getCancelOrderMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CancelOrder",
      requestType = dev.shopmesh.order.v1.CancelOrderRequest.class,
      responseType = dev.shopmesh.order.v1.Order.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.order.v1.CancelOrderRequest,
      dev.shopmesh.order.v1.Order> getCancelOrderMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.order.v1.CancelOrderRequest, dev.shopmesh.order.v1.Order> getCancelOrderMethod;
    if ((getCancelOrderMethod = OrderServiceGrpc.getCancelOrderMethod) == null) {
      synchronized (OrderServiceGrpc.class) {
        if ((getCancelOrderMethod = OrderServiceGrpc.getCancelOrderMethod) == null) {
          OrderServiceGrpc.getCancelOrderMethod = getCancelOrderMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.order.v1.CancelOrderRequest, dev.shopmesh.order.v1.Order>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CancelOrder"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.CancelOrderRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.order.v1.Order.getDefaultInstance()))
              .setSchemaDescriptor(new OrderServiceMethodDescriptorSupplier("CancelOrder"))
              .build();
        }
      }
    }
    return getCancelOrderMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static OrderServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrderServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrderServiceStub>() {
        @java.lang.Override
        public OrderServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrderServiceStub(channel, callOptions);
        }
      };
    return OrderServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static OrderServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrderServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrderServiceBlockingV2Stub>() {
        @java.lang.Override
        public OrderServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrderServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return OrderServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static OrderServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrderServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrderServiceBlockingStub>() {
        @java.lang.Override
        public OrderServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrderServiceBlockingStub(channel, callOptions);
        }
      };
    return OrderServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static OrderServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<OrderServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<OrderServiceFutureStub>() {
        @java.lang.Override
        public OrderServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new OrderServiceFutureStub(channel, callOptions);
        }
      };
    return OrderServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * OrderService runs checkout: it prices the items from the catalog, reserves
   * the stock, charges the card and confirms the order, undoing what it did
   * when a later step fails.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Places an order. Prices come from the catalog, never from the caller.
     * Out of stock, an unknown product or user, or bad input fail with an
     * error and write nothing. A declined card is not an error: the order is
     * returned with status FAILED and a `failure_reason`, its stock released
     * and nothing captured. Idempotent by `request_id`: a replay returns the
     * first order and never charges twice.
     * </pre>
     */
    default void createOrder(dev.shopmesh.order.v1.CreateOrderRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateOrderMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one order by resource name.
     * </pre>
     */
    default void getOrder(dev.shopmesh.order.v1.GetOrderRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetOrderMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists orders, newest first, optionally only those of one user.
     * </pre>
     */
    default void listOrders(dev.shopmesh.order.v1.ListOrdersRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.ListOrdersResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListOrdersMethod(), responseObserver);
    }

    /**
     * <pre>
     * Cancels a confirmed order: refunds its payment, gives its stock back and
     * returns the order with status CANCELLED. Cancelling a cancelled order
     * returns it unchanged; a FAILED or PENDING order cannot be cancelled
     * (FAILED_PRECONDITION).
     * </pre>
     */
    default void cancelOrder(dev.shopmesh.order.v1.CancelOrderRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCancelOrderMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service OrderService.
   * <pre>
   * OrderService runs checkout: it prices the items from the catalog, reserves
   * the stock, charges the card and confirms the order, undoing what it did
   * when a later step fails.
   * </pre>
   */
  public static abstract class OrderServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return OrderServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service OrderService.
   * <pre>
   * OrderService runs checkout: it prices the items from the catalog, reserves
   * the stock, charges the card and confirms the order, undoing what it did
   * when a later step fails.
   * </pre>
   */
  public static final class OrderServiceStub
      extends io.grpc.stub.AbstractAsyncStub<OrderServiceStub> {
    private OrderServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrderServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrderServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Places an order. Prices come from the catalog, never from the caller.
     * Out of stock, an unknown product or user, or bad input fail with an
     * error and write nothing. A declined card is not an error: the order is
     * returned with status FAILED and a `failure_reason`, its stock released
     * and nothing captured. Idempotent by `request_id`: a replay returns the
     * first order and never charges twice.
     * </pre>
     */
    public void createOrder(dev.shopmesh.order.v1.CreateOrderRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateOrderMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one order by resource name.
     * </pre>
     */
    public void getOrder(dev.shopmesh.order.v1.GetOrderRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetOrderMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists orders, newest first, optionally only those of one user.
     * </pre>
     */
    public void listOrders(dev.shopmesh.order.v1.ListOrdersRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.ListOrdersResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListOrdersMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Cancels a confirmed order: refunds its payment, gives its stock back and
     * returns the order with status CANCELLED. Cancelling a cancelled order
     * returns it unchanged; a FAILED or PENDING order cannot be cancelled
     * (FAILED_PRECONDITION).
     * </pre>
     */
    public void cancelOrder(dev.shopmesh.order.v1.CancelOrderRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCancelOrderMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service OrderService.
   * <pre>
   * OrderService runs checkout: it prices the items from the catalog, reserves
   * the stock, charges the card and confirms the order, undoing what it did
   * when a later step fails.
   * </pre>
   */
  public static final class OrderServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<OrderServiceBlockingV2Stub> {
    private OrderServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrderServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrderServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Places an order. Prices come from the catalog, never from the caller.
     * Out of stock, an unknown product or user, or bad input fail with an
     * error and write nothing. A declined card is not an error: the order is
     * returned with status FAILED and a `failure_reason`, its stock released
     * and nothing captured. Idempotent by `request_id`: a replay returns the
     * first order and never charges twice.
     * </pre>
     */
    public dev.shopmesh.order.v1.Order createOrder(dev.shopmesh.order.v1.CreateOrderRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateOrderMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one order by resource name.
     * </pre>
     */
    public dev.shopmesh.order.v1.Order getOrder(dev.shopmesh.order.v1.GetOrderRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetOrderMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists orders, newest first, optionally only those of one user.
     * </pre>
     */
    public dev.shopmesh.order.v1.ListOrdersResponse listOrders(dev.shopmesh.order.v1.ListOrdersRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListOrdersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Cancels a confirmed order: refunds its payment, gives its stock back and
     * returns the order with status CANCELLED. Cancelling a cancelled order
     * returns it unchanged; a FAILED or PENDING order cannot be cancelled
     * (FAILED_PRECONDITION).
     * </pre>
     */
    public dev.shopmesh.order.v1.Order cancelOrder(dev.shopmesh.order.v1.CancelOrderRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCancelOrderMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service OrderService.
   * <pre>
   * OrderService runs checkout: it prices the items from the catalog, reserves
   * the stock, charges the card and confirms the order, undoing what it did
   * when a later step fails.
   * </pre>
   */
  public static final class OrderServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<OrderServiceBlockingStub> {
    private OrderServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrderServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrderServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Places an order. Prices come from the catalog, never from the caller.
     * Out of stock, an unknown product or user, or bad input fail with an
     * error and write nothing. A declined card is not an error: the order is
     * returned with status FAILED and a `failure_reason`, its stock released
     * and nothing captured. Idempotent by `request_id`: a replay returns the
     * first order and never charges twice.
     * </pre>
     */
    public dev.shopmesh.order.v1.Order createOrder(dev.shopmesh.order.v1.CreateOrderRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateOrderMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one order by resource name.
     * </pre>
     */
    public dev.shopmesh.order.v1.Order getOrder(dev.shopmesh.order.v1.GetOrderRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetOrderMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists orders, newest first, optionally only those of one user.
     * </pre>
     */
    public dev.shopmesh.order.v1.ListOrdersResponse listOrders(dev.shopmesh.order.v1.ListOrdersRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListOrdersMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Cancels a confirmed order: refunds its payment, gives its stock back and
     * returns the order with status CANCELLED. Cancelling a cancelled order
     * returns it unchanged; a FAILED or PENDING order cannot be cancelled
     * (FAILED_PRECONDITION).
     * </pre>
     */
    public dev.shopmesh.order.v1.Order cancelOrder(dev.shopmesh.order.v1.CancelOrderRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCancelOrderMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service OrderService.
   * <pre>
   * OrderService runs checkout: it prices the items from the catalog, reserves
   * the stock, charges the card and confirms the order, undoing what it did
   * when a later step fails.
   * </pre>
   */
  public static final class OrderServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<OrderServiceFutureStub> {
    private OrderServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected OrderServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new OrderServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Places an order. Prices come from the catalog, never from the caller.
     * Out of stock, an unknown product or user, or bad input fail with an
     * error and write nothing. A declined card is not an error: the order is
     * returned with status FAILED and a `failure_reason`, its stock released
     * and nothing captured. Idempotent by `request_id`: a replay returns the
     * first order and never charges twice.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.order.v1.Order> createOrder(
        dev.shopmesh.order.v1.CreateOrderRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateOrderMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one order by resource name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.order.v1.Order> getOrder(
        dev.shopmesh.order.v1.GetOrderRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetOrderMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists orders, newest first, optionally only those of one user.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.order.v1.ListOrdersResponse> listOrders(
        dev.shopmesh.order.v1.ListOrdersRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListOrdersMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Cancels a confirmed order: refunds its payment, gives its stock back and
     * returns the order with status CANCELLED. Cancelling a cancelled order
     * returns it unchanged; a FAILED or PENDING order cannot be cancelled
     * (FAILED_PRECONDITION).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.order.v1.Order> cancelOrder(
        dev.shopmesh.order.v1.CancelOrderRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCancelOrderMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_ORDER = 0;
  private static final int METHODID_GET_ORDER = 1;
  private static final int METHODID_LIST_ORDERS = 2;
  private static final int METHODID_CANCEL_ORDER = 3;

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
        case METHODID_CREATE_ORDER:
          serviceImpl.createOrder((dev.shopmesh.order.v1.CreateOrderRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order>) responseObserver);
          break;
        case METHODID_GET_ORDER:
          serviceImpl.getOrder((dev.shopmesh.order.v1.GetOrderRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order>) responseObserver);
          break;
        case METHODID_LIST_ORDERS:
          serviceImpl.listOrders((dev.shopmesh.order.v1.ListOrdersRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.ListOrdersResponse>) responseObserver);
          break;
        case METHODID_CANCEL_ORDER:
          serviceImpl.cancelOrder((dev.shopmesh.order.v1.CancelOrderRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.order.v1.Order>) responseObserver);
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
          getCreateOrderMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.order.v1.CreateOrderRequest,
              dev.shopmesh.order.v1.Order>(
                service, METHODID_CREATE_ORDER)))
        .addMethod(
          getGetOrderMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.order.v1.GetOrderRequest,
              dev.shopmesh.order.v1.Order>(
                service, METHODID_GET_ORDER)))
        .addMethod(
          getListOrdersMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.order.v1.ListOrdersRequest,
              dev.shopmesh.order.v1.ListOrdersResponse>(
                service, METHODID_LIST_ORDERS)))
        .addMethod(
          getCancelOrderMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.order.v1.CancelOrderRequest,
              dev.shopmesh.order.v1.Order>(
                service, METHODID_CANCEL_ORDER)))
        .build();
  }

  private static abstract class OrderServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    OrderServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.shopmesh.order.v1.OrderServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("OrderService");
    }
  }

  private static final class OrderServiceFileDescriptorSupplier
      extends OrderServiceBaseDescriptorSupplier {
    OrderServiceFileDescriptorSupplier() {}
  }

  private static final class OrderServiceMethodDescriptorSupplier
      extends OrderServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    OrderServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (OrderServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new OrderServiceFileDescriptorSupplier())
              .addMethod(getCreateOrderMethod())
              .addMethod(getGetOrderMethod())
              .addMethod(getListOrdersMethod())
              .addMethod(getCancelOrderMethod())
              .build();
        }
      }
    }
    return result;
  }
}
