package dev.shopmesh.payment.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * PaymentService charges and refunds cards. Payments are simulated with the
 * test cards developers know: 4242424242424242 and 4111111111111111 approve,
 * 4000000000000002 is declined (and 4000000000009995 is declined for
 * insufficient funds); any other number that passes the Luhn check approves.
 * Charge and Refund have no HTTP binding on purpose: they are internal to the
 * mesh (called by the orders service) and the gateway's public listener does
 * not route them.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class PaymentServiceGrpc {

  private PaymentServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "shopmesh.payment.v1.PaymentService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.GetPaymentRequest,
      dev.shopmesh.payment.v1.Payment> getGetPaymentMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetPayment",
      requestType = dev.shopmesh.payment.v1.GetPaymentRequest.class,
      responseType = dev.shopmesh.payment.v1.Payment.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.GetPaymentRequest,
      dev.shopmesh.payment.v1.Payment> getGetPaymentMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.GetPaymentRequest, dev.shopmesh.payment.v1.Payment> getGetPaymentMethod;
    if ((getGetPaymentMethod = PaymentServiceGrpc.getGetPaymentMethod) == null) {
      synchronized (PaymentServiceGrpc.class) {
        if ((getGetPaymentMethod = PaymentServiceGrpc.getGetPaymentMethod) == null) {
          PaymentServiceGrpc.getGetPaymentMethod = getGetPaymentMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.payment.v1.GetPaymentRequest, dev.shopmesh.payment.v1.Payment>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetPayment"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.GetPaymentRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.Payment.getDefaultInstance()))
              .setSchemaDescriptor(new PaymentServiceMethodDescriptorSupplier("GetPayment"))
              .build();
        }
      }
    }
    return getGetPaymentMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.ChargeRequest,
      dev.shopmesh.payment.v1.Payment> getChargeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Charge",
      requestType = dev.shopmesh.payment.v1.ChargeRequest.class,
      responseType = dev.shopmesh.payment.v1.Payment.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.ChargeRequest,
      dev.shopmesh.payment.v1.Payment> getChargeMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.ChargeRequest, dev.shopmesh.payment.v1.Payment> getChargeMethod;
    if ((getChargeMethod = PaymentServiceGrpc.getChargeMethod) == null) {
      synchronized (PaymentServiceGrpc.class) {
        if ((getChargeMethod = PaymentServiceGrpc.getChargeMethod) == null) {
          PaymentServiceGrpc.getChargeMethod = getChargeMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.payment.v1.ChargeRequest, dev.shopmesh.payment.v1.Payment>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Charge"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.ChargeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.Payment.getDefaultInstance()))
              .setSchemaDescriptor(new PaymentServiceMethodDescriptorSupplier("Charge"))
              .build();
        }
      }
    }
    return getChargeMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.RefundRequest,
      dev.shopmesh.payment.v1.Payment> getRefundMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "Refund",
      requestType = dev.shopmesh.payment.v1.RefundRequest.class,
      responseType = dev.shopmesh.payment.v1.Payment.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.RefundRequest,
      dev.shopmesh.payment.v1.Payment> getRefundMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.RefundRequest, dev.shopmesh.payment.v1.Payment> getRefundMethod;
    if ((getRefundMethod = PaymentServiceGrpc.getRefundMethod) == null) {
      synchronized (PaymentServiceGrpc.class) {
        if ((getRefundMethod = PaymentServiceGrpc.getRefundMethod) == null) {
          PaymentServiceGrpc.getRefundMethod = getRefundMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.payment.v1.RefundRequest, dev.shopmesh.payment.v1.Payment>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "Refund"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.RefundRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.Payment.getDefaultInstance()))
              .setSchemaDescriptor(new PaymentServiceMethodDescriptorSupplier("Refund"))
              .build();
        }
      }
    }
    return getRefundMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.VoidChargeRequest,
      dev.shopmesh.payment.v1.VoidChargeResponse> getVoidChargeMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "VoidCharge",
      requestType = dev.shopmesh.payment.v1.VoidChargeRequest.class,
      responseType = dev.shopmesh.payment.v1.VoidChargeResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.VoidChargeRequest,
      dev.shopmesh.payment.v1.VoidChargeResponse> getVoidChargeMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.payment.v1.VoidChargeRequest, dev.shopmesh.payment.v1.VoidChargeResponse> getVoidChargeMethod;
    if ((getVoidChargeMethod = PaymentServiceGrpc.getVoidChargeMethod) == null) {
      synchronized (PaymentServiceGrpc.class) {
        if ((getVoidChargeMethod = PaymentServiceGrpc.getVoidChargeMethod) == null) {
          PaymentServiceGrpc.getVoidChargeMethod = getVoidChargeMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.payment.v1.VoidChargeRequest, dev.shopmesh.payment.v1.VoidChargeResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "VoidCharge"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.VoidChargeRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.payment.v1.VoidChargeResponse.getDefaultInstance()))
              .setSchemaDescriptor(new PaymentServiceMethodDescriptorSupplier("VoidCharge"))
              .build();
        }
      }
    }
    return getVoidChargeMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static PaymentServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PaymentServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PaymentServiceStub>() {
        @java.lang.Override
        public PaymentServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PaymentServiceStub(channel, callOptions);
        }
      };
    return PaymentServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static PaymentServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PaymentServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PaymentServiceBlockingV2Stub>() {
        @java.lang.Override
        public PaymentServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PaymentServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return PaymentServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static PaymentServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PaymentServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PaymentServiceBlockingStub>() {
        @java.lang.Override
        public PaymentServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PaymentServiceBlockingStub(channel, callOptions);
        }
      };
    return PaymentServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static PaymentServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<PaymentServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<PaymentServiceFutureStub>() {
        @java.lang.Override
        public PaymentServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new PaymentServiceFutureStub(channel, callOptions);
        }
      };
    return PaymentServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * PaymentService charges and refunds cards. Payments are simulated with the
   * test cards developers know: 4242424242424242 and 4111111111111111 approve,
   * 4000000000000002 is declined (and 4000000000009995 is declined for
   * insufficient funds); any other number that passes the Luhn check approves.
   * Charge and Refund have no HTTP binding on purpose: they are internal to the
   * mesh (called by the orders service) and the gateway's public listener does
   * not route them.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Returns one payment by resource name.
     * </pre>
     */
    default void getPayment(dev.shopmesh.payment.v1.GetPaymentRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetPaymentMethod(), responseObserver);
    }

    /**
     * <pre>
     * Internal. Charges a card. A declined card is not an error: the payment is
     * returned with status DECLINED and a `decline_reason`. Idempotent by
     * `request_id`: a replay returns the first payment, never a second charge.
     * </pre>
     */
    default void charge(dev.shopmesh.payment.v1.ChargeRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getChargeMethod(), responseObserver);
    }

    /**
     * <pre>
     * Internal. Refunds a captured payment in full. Refunding a refunded
     * payment returns it unchanged; refunding a declined one fails with
     * FAILED_PRECONDITION.
     * </pre>
     */
    default void refund(dev.shopmesh.payment.v1.RefundRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getRefundMethod(), responseObserver);
    }

    /**
     * <pre>
     * Internal. Makes sure no charge with this `request_id` can capture from
     * now on. When no charge was made, the id is recorded as void and a later
     * Charge with it fails with FAILED_PRECONDITION (reason CHARGE_VOIDED);
     * when one was made, it is returned unchanged (refund it separately). Used
     * to settle a charge whose outcome is unknown (a timeout, a crash).
     * </pre>
     */
    default void voidCharge(dev.shopmesh.payment.v1.VoidChargeRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.VoidChargeResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getVoidChargeMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service PaymentService.
   * <pre>
   * PaymentService charges and refunds cards. Payments are simulated with the
   * test cards developers know: 4242424242424242 and 4111111111111111 approve,
   * 4000000000000002 is declined (and 4000000000009995 is declined for
   * insufficient funds); any other number that passes the Luhn check approves.
   * Charge and Refund have no HTTP binding on purpose: they are internal to the
   * mesh (called by the orders service) and the gateway's public listener does
   * not route them.
   * </pre>
   */
  public static abstract class PaymentServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return PaymentServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service PaymentService.
   * <pre>
   * PaymentService charges and refunds cards. Payments are simulated with the
   * test cards developers know: 4242424242424242 and 4111111111111111 approve,
   * 4000000000000002 is declined (and 4000000000009995 is declined for
   * insufficient funds); any other number that passes the Luhn check approves.
   * Charge and Refund have no HTTP binding on purpose: they are internal to the
   * mesh (called by the orders service) and the gateway's public listener does
   * not route them.
   * </pre>
   */
  public static final class PaymentServiceStub
      extends io.grpc.stub.AbstractAsyncStub<PaymentServiceStub> {
    private PaymentServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PaymentServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PaymentServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns one payment by resource name.
     * </pre>
     */
    public void getPayment(dev.shopmesh.payment.v1.GetPaymentRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetPaymentMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Internal. Charges a card. A declined card is not an error: the payment is
     * returned with status DECLINED and a `decline_reason`. Idempotent by
     * `request_id`: a replay returns the first payment, never a second charge.
     * </pre>
     */
    public void charge(dev.shopmesh.payment.v1.ChargeRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getChargeMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Internal. Refunds a captured payment in full. Refunding a refunded
     * payment returns it unchanged; refunding a declined one fails with
     * FAILED_PRECONDITION.
     * </pre>
     */
    public void refund(dev.shopmesh.payment.v1.RefundRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getRefundMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Internal. Makes sure no charge with this `request_id` can capture from
     * now on. When no charge was made, the id is recorded as void and a later
     * Charge with it fails with FAILED_PRECONDITION (reason CHARGE_VOIDED);
     * when one was made, it is returned unchanged (refund it separately). Used
     * to settle a charge whose outcome is unknown (a timeout, a crash).
     * </pre>
     */
    public void voidCharge(dev.shopmesh.payment.v1.VoidChargeRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.VoidChargeResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getVoidChargeMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service PaymentService.
   * <pre>
   * PaymentService charges and refunds cards. Payments are simulated with the
   * test cards developers know: 4242424242424242 and 4111111111111111 approve,
   * 4000000000000002 is declined (and 4000000000009995 is declined for
   * insufficient funds); any other number that passes the Luhn check approves.
   * Charge and Refund have no HTTP binding on purpose: they are internal to the
   * mesh (called by the orders service) and the gateway's public listener does
   * not route them.
   * </pre>
   */
  public static final class PaymentServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<PaymentServiceBlockingV2Stub> {
    private PaymentServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PaymentServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PaymentServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns one payment by resource name.
     * </pre>
     */
    public dev.shopmesh.payment.v1.Payment getPayment(dev.shopmesh.payment.v1.GetPaymentRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetPaymentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Charges a card. A declined card is not an error: the payment is
     * returned with status DECLINED and a `decline_reason`. Idempotent by
     * `request_id`: a replay returns the first payment, never a second charge.
     * </pre>
     */
    public dev.shopmesh.payment.v1.Payment charge(dev.shopmesh.payment.v1.ChargeRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getChargeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Refunds a captured payment in full. Refunding a refunded
     * payment returns it unchanged; refunding a declined one fails with
     * FAILED_PRECONDITION.
     * </pre>
     */
    public dev.shopmesh.payment.v1.Payment refund(dev.shopmesh.payment.v1.RefundRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getRefundMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Makes sure no charge with this `request_id` can capture from
     * now on. When no charge was made, the id is recorded as void and a later
     * Charge with it fails with FAILED_PRECONDITION (reason CHARGE_VOIDED);
     * when one was made, it is returned unchanged (refund it separately). Used
     * to settle a charge whose outcome is unknown (a timeout, a crash).
     * </pre>
     */
    public dev.shopmesh.payment.v1.VoidChargeResponse voidCharge(dev.shopmesh.payment.v1.VoidChargeRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getVoidChargeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service PaymentService.
   * <pre>
   * PaymentService charges and refunds cards. Payments are simulated with the
   * test cards developers know: 4242424242424242 and 4111111111111111 approve,
   * 4000000000000002 is declined (and 4000000000009995 is declined for
   * insufficient funds); any other number that passes the Luhn check approves.
   * Charge and Refund have no HTTP binding on purpose: they are internal to the
   * mesh (called by the orders service) and the gateway's public listener does
   * not route them.
   * </pre>
   */
  public static final class PaymentServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<PaymentServiceBlockingStub> {
    private PaymentServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PaymentServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PaymentServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns one payment by resource name.
     * </pre>
     */
    public dev.shopmesh.payment.v1.Payment getPayment(dev.shopmesh.payment.v1.GetPaymentRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetPaymentMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Charges a card. A declined card is not an error: the payment is
     * returned with status DECLINED and a `decline_reason`. Idempotent by
     * `request_id`: a replay returns the first payment, never a second charge.
     * </pre>
     */
    public dev.shopmesh.payment.v1.Payment charge(dev.shopmesh.payment.v1.ChargeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getChargeMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Refunds a captured payment in full. Refunding a refunded
     * payment returns it unchanged; refunding a declined one fails with
     * FAILED_PRECONDITION.
     * </pre>
     */
    public dev.shopmesh.payment.v1.Payment refund(dev.shopmesh.payment.v1.RefundRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getRefundMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Makes sure no charge with this `request_id` can capture from
     * now on. When no charge was made, the id is recorded as void and a later
     * Charge with it fails with FAILED_PRECONDITION (reason CHARGE_VOIDED);
     * when one was made, it is returned unchanged (refund it separately). Used
     * to settle a charge whose outcome is unknown (a timeout, a crash).
     * </pre>
     */
    public dev.shopmesh.payment.v1.VoidChargeResponse voidCharge(dev.shopmesh.payment.v1.VoidChargeRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getVoidChargeMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service PaymentService.
   * <pre>
   * PaymentService charges and refunds cards. Payments are simulated with the
   * test cards developers know: 4242424242424242 and 4111111111111111 approve,
   * 4000000000000002 is declined (and 4000000000009995 is declined for
   * insufficient funds); any other number that passes the Luhn check approves.
   * Charge and Refund have no HTTP binding on purpose: they are internal to the
   * mesh (called by the orders service) and the gateway's public listener does
   * not route them.
   * </pre>
   */
  public static final class PaymentServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<PaymentServiceFutureStub> {
    private PaymentServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected PaymentServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new PaymentServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Returns one payment by resource name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.payment.v1.Payment> getPayment(
        dev.shopmesh.payment.v1.GetPaymentRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetPaymentMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Internal. Charges a card. A declined card is not an error: the payment is
     * returned with status DECLINED and a `decline_reason`. Idempotent by
     * `request_id`: a replay returns the first payment, never a second charge.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.payment.v1.Payment> charge(
        dev.shopmesh.payment.v1.ChargeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getChargeMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Internal. Refunds a captured payment in full. Refunding a refunded
     * payment returns it unchanged; refunding a declined one fails with
     * FAILED_PRECONDITION.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.payment.v1.Payment> refund(
        dev.shopmesh.payment.v1.RefundRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getRefundMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Internal. Makes sure no charge with this `request_id` can capture from
     * now on. When no charge was made, the id is recorded as void and a later
     * Charge with it fails with FAILED_PRECONDITION (reason CHARGE_VOIDED);
     * when one was made, it is returned unchanged (refund it separately). Used
     * to settle a charge whose outcome is unknown (a timeout, a crash).
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.payment.v1.VoidChargeResponse> voidCharge(
        dev.shopmesh.payment.v1.VoidChargeRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getVoidChargeMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_GET_PAYMENT = 0;
  private static final int METHODID_CHARGE = 1;
  private static final int METHODID_REFUND = 2;
  private static final int METHODID_VOID_CHARGE = 3;

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
        case METHODID_GET_PAYMENT:
          serviceImpl.getPayment((dev.shopmesh.payment.v1.GetPaymentRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment>) responseObserver);
          break;
        case METHODID_CHARGE:
          serviceImpl.charge((dev.shopmesh.payment.v1.ChargeRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment>) responseObserver);
          break;
        case METHODID_REFUND:
          serviceImpl.refund((dev.shopmesh.payment.v1.RefundRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.Payment>) responseObserver);
          break;
        case METHODID_VOID_CHARGE:
          serviceImpl.voidCharge((dev.shopmesh.payment.v1.VoidChargeRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.payment.v1.VoidChargeResponse>) responseObserver);
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
          getGetPaymentMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.payment.v1.GetPaymentRequest,
              dev.shopmesh.payment.v1.Payment>(
                service, METHODID_GET_PAYMENT)))
        .addMethod(
          getChargeMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.payment.v1.ChargeRequest,
              dev.shopmesh.payment.v1.Payment>(
                service, METHODID_CHARGE)))
        .addMethod(
          getRefundMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.payment.v1.RefundRequest,
              dev.shopmesh.payment.v1.Payment>(
                service, METHODID_REFUND)))
        .addMethod(
          getVoidChargeMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.payment.v1.VoidChargeRequest,
              dev.shopmesh.payment.v1.VoidChargeResponse>(
                service, METHODID_VOID_CHARGE)))
        .build();
  }

  private static abstract class PaymentServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    PaymentServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.shopmesh.payment.v1.PaymentServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("PaymentService");
    }
  }

  private static final class PaymentServiceFileDescriptorSupplier
      extends PaymentServiceBaseDescriptorSupplier {
    PaymentServiceFileDescriptorSupplier() {}
  }

  private static final class PaymentServiceMethodDescriptorSupplier
      extends PaymentServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    PaymentServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (PaymentServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new PaymentServiceFileDescriptorSupplier())
              .addMethod(getGetPaymentMethod())
              .addMethod(getChargeMethod())
              .addMethod(getRefundMethod())
              .addMethod(getVoidChargeMethod())
              .build();
        }
      }
    }
    return result;
  }
}
