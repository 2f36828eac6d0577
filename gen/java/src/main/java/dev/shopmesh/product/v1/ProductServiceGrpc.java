package dev.shopmesh.product.v1;

import static io.grpc.MethodDescriptor.generateFullMethodName;

/**
 * <pre>
 * ProductService owns the catalog and the stock of every product.
 * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
 * internal to the mesh (called by the orders service) and the gateway's
 * public listener does not route them.
 * </pre>
 */
@io.grpc.stub.annotations.GrpcGenerated
public final class ProductServiceGrpc {

  private ProductServiceGrpc() {}

  public static final java.lang.String SERVICE_NAME = "shopmesh.product.v1.ProductService";

  // Static method descriptors that strictly reflect the proto.
  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.product.v1.CreateProductRequest,
      dev.shopmesh.product.v1.Product> getCreateProductMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "CreateProduct",
      requestType = dev.shopmesh.product.v1.CreateProductRequest.class,
      responseType = dev.shopmesh.product.v1.Product.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.product.v1.CreateProductRequest,
      dev.shopmesh.product.v1.Product> getCreateProductMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.product.v1.CreateProductRequest, dev.shopmesh.product.v1.Product> getCreateProductMethod;
    if ((getCreateProductMethod = ProductServiceGrpc.getCreateProductMethod) == null) {
      synchronized (ProductServiceGrpc.class) {
        if ((getCreateProductMethod = ProductServiceGrpc.getCreateProductMethod) == null) {
          ProductServiceGrpc.getCreateProductMethod = getCreateProductMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.product.v1.CreateProductRequest, dev.shopmesh.product.v1.Product>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "CreateProduct"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.CreateProductRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.Product.getDefaultInstance()))
              .setSchemaDescriptor(new ProductServiceMethodDescriptorSupplier("CreateProduct"))
              .build();
        }
      }
    }
    return getCreateProductMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.product.v1.GetProductRequest,
      dev.shopmesh.product.v1.Product> getGetProductMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "GetProduct",
      requestType = dev.shopmesh.product.v1.GetProductRequest.class,
      responseType = dev.shopmesh.product.v1.Product.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.product.v1.GetProductRequest,
      dev.shopmesh.product.v1.Product> getGetProductMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.product.v1.GetProductRequest, dev.shopmesh.product.v1.Product> getGetProductMethod;
    if ((getGetProductMethod = ProductServiceGrpc.getGetProductMethod) == null) {
      synchronized (ProductServiceGrpc.class) {
        if ((getGetProductMethod = ProductServiceGrpc.getGetProductMethod) == null) {
          ProductServiceGrpc.getGetProductMethod = getGetProductMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.product.v1.GetProductRequest, dev.shopmesh.product.v1.Product>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "GetProduct"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.GetProductRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.Product.getDefaultInstance()))
              .setSchemaDescriptor(new ProductServiceMethodDescriptorSupplier("GetProduct"))
              .build();
        }
      }
    }
    return getGetProductMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ListProductsRequest,
      dev.shopmesh.product.v1.ListProductsResponse> getListProductsMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ListProducts",
      requestType = dev.shopmesh.product.v1.ListProductsRequest.class,
      responseType = dev.shopmesh.product.v1.ListProductsResponse.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ListProductsRequest,
      dev.shopmesh.product.v1.ListProductsResponse> getListProductsMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ListProductsRequest, dev.shopmesh.product.v1.ListProductsResponse> getListProductsMethod;
    if ((getListProductsMethod = ProductServiceGrpc.getListProductsMethod) == null) {
      synchronized (ProductServiceGrpc.class) {
        if ((getListProductsMethod = ProductServiceGrpc.getListProductsMethod) == null) {
          ProductServiceGrpc.getListProductsMethod = getListProductsMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.product.v1.ListProductsRequest, dev.shopmesh.product.v1.ListProductsResponse>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ListProducts"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.ListProductsRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.ListProductsResponse.getDefaultInstance()))
              .setSchemaDescriptor(new ProductServiceMethodDescriptorSupplier("ListProducts"))
              .build();
        }
      }
    }
    return getListProductsMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.product.v1.UpdateProductRequest,
      dev.shopmesh.product.v1.Product> getUpdateProductMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "UpdateProduct",
      requestType = dev.shopmesh.product.v1.UpdateProductRequest.class,
      responseType = dev.shopmesh.product.v1.Product.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.product.v1.UpdateProductRequest,
      dev.shopmesh.product.v1.Product> getUpdateProductMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.product.v1.UpdateProductRequest, dev.shopmesh.product.v1.Product> getUpdateProductMethod;
    if ((getUpdateProductMethod = ProductServiceGrpc.getUpdateProductMethod) == null) {
      synchronized (ProductServiceGrpc.class) {
        if ((getUpdateProductMethod = ProductServiceGrpc.getUpdateProductMethod) == null) {
          ProductServiceGrpc.getUpdateProductMethod = getUpdateProductMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.product.v1.UpdateProductRequest, dev.shopmesh.product.v1.Product>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "UpdateProduct"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.UpdateProductRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.Product.getDefaultInstance()))
              .setSchemaDescriptor(new ProductServiceMethodDescriptorSupplier("UpdateProduct"))
              .build();
        }
      }
    }
    return getUpdateProductMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ReserveStockRequest,
      dev.shopmesh.product.v1.Reservation> getReserveStockMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReserveStock",
      requestType = dev.shopmesh.product.v1.ReserveStockRequest.class,
      responseType = dev.shopmesh.product.v1.Reservation.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ReserveStockRequest,
      dev.shopmesh.product.v1.Reservation> getReserveStockMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ReserveStockRequest, dev.shopmesh.product.v1.Reservation> getReserveStockMethod;
    if ((getReserveStockMethod = ProductServiceGrpc.getReserveStockMethod) == null) {
      synchronized (ProductServiceGrpc.class) {
        if ((getReserveStockMethod = ProductServiceGrpc.getReserveStockMethod) == null) {
          ProductServiceGrpc.getReserveStockMethod = getReserveStockMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.product.v1.ReserveStockRequest, dev.shopmesh.product.v1.Reservation>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReserveStock"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.ReserveStockRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.Reservation.getDefaultInstance()))
              .setSchemaDescriptor(new ProductServiceMethodDescriptorSupplier("ReserveStock"))
              .build();
        }
      }
    }
    return getReserveStockMethod;
  }

  private static volatile io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ReleaseStockRequest,
      dev.shopmesh.product.v1.Reservation> getReleaseStockMethod;

  @io.grpc.stub.annotations.RpcMethod(
      fullMethodName = SERVICE_NAME + '/' + "ReleaseStock",
      requestType = dev.shopmesh.product.v1.ReleaseStockRequest.class,
      responseType = dev.shopmesh.product.v1.Reservation.class,
      methodType = io.grpc.MethodDescriptor.MethodType.UNARY)
  public static io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ReleaseStockRequest,
      dev.shopmesh.product.v1.Reservation> getReleaseStockMethod() {
    io.grpc.MethodDescriptor<dev.shopmesh.product.v1.ReleaseStockRequest, dev.shopmesh.product.v1.Reservation> getReleaseStockMethod;
    if ((getReleaseStockMethod = ProductServiceGrpc.getReleaseStockMethod) == null) {
      synchronized (ProductServiceGrpc.class) {
        if ((getReleaseStockMethod = ProductServiceGrpc.getReleaseStockMethod) == null) {
          ProductServiceGrpc.getReleaseStockMethod = getReleaseStockMethod =
              io.grpc.MethodDescriptor.<dev.shopmesh.product.v1.ReleaseStockRequest, dev.shopmesh.product.v1.Reservation>newBuilder()
              .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
              .setFullMethodName(generateFullMethodName(SERVICE_NAME, "ReleaseStock"))
              .setSampledToLocalTracing(true)
              .setRequestMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.ReleaseStockRequest.getDefaultInstance()))
              .setResponseMarshaller(io.grpc.protobuf.ProtoUtils.marshaller(
                  dev.shopmesh.product.v1.Reservation.getDefaultInstance()))
              .setSchemaDescriptor(new ProductServiceMethodDescriptorSupplier("ReleaseStock"))
              .build();
        }
      }
    }
    return getReleaseStockMethod;
  }

  /**
   * Creates a new async stub that supports all call types for the service
   */
  public static ProductServiceStub newStub(io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ProductServiceStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ProductServiceStub>() {
        @java.lang.Override
        public ProductServiceStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ProductServiceStub(channel, callOptions);
        }
      };
    return ProductServiceStub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports all types of calls on the service
   */
  public static ProductServiceBlockingV2Stub newBlockingV2Stub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ProductServiceBlockingV2Stub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ProductServiceBlockingV2Stub>() {
        @java.lang.Override
        public ProductServiceBlockingV2Stub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ProductServiceBlockingV2Stub(channel, callOptions);
        }
      };
    return ProductServiceBlockingV2Stub.newStub(factory, channel);
  }

  /**
   * Creates a new blocking-style stub that supports unary and streaming output calls on the service
   */
  public static ProductServiceBlockingStub newBlockingStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ProductServiceBlockingStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ProductServiceBlockingStub>() {
        @java.lang.Override
        public ProductServiceBlockingStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ProductServiceBlockingStub(channel, callOptions);
        }
      };
    return ProductServiceBlockingStub.newStub(factory, channel);
  }

  /**
   * Creates a new ListenableFuture-style stub that supports unary calls on the service
   */
  public static ProductServiceFutureStub newFutureStub(
      io.grpc.Channel channel) {
    io.grpc.stub.AbstractStub.StubFactory<ProductServiceFutureStub> factory =
      new io.grpc.stub.AbstractStub.StubFactory<ProductServiceFutureStub>() {
        @java.lang.Override
        public ProductServiceFutureStub newStub(io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
          return new ProductServiceFutureStub(channel, callOptions);
        }
      };
    return ProductServiceFutureStub.newStub(factory, channel);
  }

  /**
   * <pre>
   * ProductService owns the catalog and the stock of every product.
   * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
   * internal to the mesh (called by the orders service) and the gateway's
   * public listener does not route them.
   * </pre>
   */
  public interface AsyncService {

    /**
     * <pre>
     * Adds a product to the catalog. A second product with the same `sku`
     * fails with ALREADY_EXISTS.
     * </pre>
     */
    default void createProduct(dev.shopmesh.product.v1.CreateProductRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getCreateProductMethod(), responseObserver);
    }

    /**
     * <pre>
     * Returns one product by resource name.
     * </pre>
     */
    default void getProduct(dev.shopmesh.product.v1.GetProductRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getGetProductMethod(), responseObserver);
    }

    /**
     * <pre>
     * Lists products in creation order, oldest first. Paging is by keyset, so
     * pages stay stable while products are added.
     * </pre>
     */
    default void listProducts(dev.shopmesh.product.v1.ListProductsRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.ListProductsResponse> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getListProductsMethod(), responseObserver);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask` (title, description, price,
     * stock). `name`, `sku` and `create_time` cannot be changed.
     * </pre>
     */
    default void updateProduct(dev.shopmesh.product.v1.UpdateProductRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getUpdateProductMethod(), responseObserver);
    }

    /**
     * <pre>
     * Internal. Takes stock for every item at once, or for none: when one item
     * is short the call fails with FAILED_PRECONDITION and nothing is taken.
     * Idempotent by `reservation_id`: a replay returns the first result.
     * </pre>
     */
    default void reserveStock(dev.shopmesh.product.v1.ReserveStockRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Reservation> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReserveStockMethod(), responseObserver);
    }

    /**
     * <pre>
     * Internal. Gives the stock of a reservation back. Idempotent: releasing a
     * released reservation returns it unchanged, and releasing an unknown id
     * records a released, empty reservation so that a late ReserveStock with
     * that id takes nothing.
     * </pre>
     */
    default void releaseStock(dev.shopmesh.product.v1.ReleaseStockRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Reservation> responseObserver) {
      io.grpc.stub.ServerCalls.asyncUnimplementedUnaryCall(getReleaseStockMethod(), responseObserver);
    }
  }

  /**
   * Base class for the server implementation of the service ProductService.
   * <pre>
   * ProductService owns the catalog and the stock of every product.
   * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
   * internal to the mesh (called by the orders service) and the gateway's
   * public listener does not route them.
   * </pre>
   */
  public static abstract class ProductServiceImplBase
      implements io.grpc.BindableService, AsyncService {

    @java.lang.Override public final io.grpc.ServerServiceDefinition bindService() {
      return ProductServiceGrpc.bindService(this);
    }
  }

  /**
   * A stub to allow clients to do asynchronous rpc calls to service ProductService.
   * <pre>
   * ProductService owns the catalog and the stock of every product.
   * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
   * internal to the mesh (called by the orders service) and the gateway's
   * public listener does not route them.
   * </pre>
   */
  public static final class ProductServiceStub
      extends io.grpc.stub.AbstractAsyncStub<ProductServiceStub> {
    private ProductServiceStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ProductServiceStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ProductServiceStub(channel, callOptions);
    }

    /**
     * <pre>
     * Adds a product to the catalog. A second product with the same `sku`
     * fails with ALREADY_EXISTS.
     * </pre>
     */
    public void createProduct(dev.shopmesh.product.v1.CreateProductRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getCreateProductMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Returns one product by resource name.
     * </pre>
     */
    public void getProduct(dev.shopmesh.product.v1.GetProductRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getGetProductMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Lists products in creation order, oldest first. Paging is by keyset, so
     * pages stay stable while products are added.
     * </pre>
     */
    public void listProducts(dev.shopmesh.product.v1.ListProductsRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.ListProductsResponse> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getListProductsMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask` (title, description, price,
     * stock). `name`, `sku` and `create_time` cannot be changed.
     * </pre>
     */
    public void updateProduct(dev.shopmesh.product.v1.UpdateProductRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getUpdateProductMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Internal. Takes stock for every item at once, or for none: when one item
     * is short the call fails with FAILED_PRECONDITION and nothing is taken.
     * Idempotent by `reservation_id`: a replay returns the first result.
     * </pre>
     */
    public void reserveStock(dev.shopmesh.product.v1.ReserveStockRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Reservation> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReserveStockMethod(), getCallOptions()), request, responseObserver);
    }

    /**
     * <pre>
     * Internal. Gives the stock of a reservation back. Idempotent: releasing a
     * released reservation returns it unchanged, and releasing an unknown id
     * records a released, empty reservation so that a late ReserveStock with
     * that id takes nothing.
     * </pre>
     */
    public void releaseStock(dev.shopmesh.product.v1.ReleaseStockRequest request,
        io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Reservation> responseObserver) {
      io.grpc.stub.ClientCalls.asyncUnaryCall(
          getChannel().newCall(getReleaseStockMethod(), getCallOptions()), request, responseObserver);
    }
  }

  /**
   * A stub to allow clients to do synchronous rpc calls to service ProductService.
   * <pre>
   * ProductService owns the catalog and the stock of every product.
   * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
   * internal to the mesh (called by the orders service) and the gateway's
   * public listener does not route them.
   * </pre>
   */
  public static final class ProductServiceBlockingV2Stub
      extends io.grpc.stub.AbstractBlockingStub<ProductServiceBlockingV2Stub> {
    private ProductServiceBlockingV2Stub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ProductServiceBlockingV2Stub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ProductServiceBlockingV2Stub(channel, callOptions);
    }

    /**
     * <pre>
     * Adds a product to the catalog. A second product with the same `sku`
     * fails with ALREADY_EXISTS.
     * </pre>
     */
    public dev.shopmesh.product.v1.Product createProduct(dev.shopmesh.product.v1.CreateProductRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getCreateProductMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one product by resource name.
     * </pre>
     */
    public dev.shopmesh.product.v1.Product getProduct(dev.shopmesh.product.v1.GetProductRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getGetProductMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists products in creation order, oldest first. Paging is by keyset, so
     * pages stay stable while products are added.
     * </pre>
     */
    public dev.shopmesh.product.v1.ListProductsResponse listProducts(dev.shopmesh.product.v1.ListProductsRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getListProductsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask` (title, description, price,
     * stock). `name`, `sku` and `create_time` cannot be changed.
     * </pre>
     */
    public dev.shopmesh.product.v1.Product updateProduct(dev.shopmesh.product.v1.UpdateProductRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getUpdateProductMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Takes stock for every item at once, or for none: when one item
     * is short the call fails with FAILED_PRECONDITION and nothing is taken.
     * Idempotent by `reservation_id`: a replay returns the first result.
     * </pre>
     */
    public dev.shopmesh.product.v1.Reservation reserveStock(dev.shopmesh.product.v1.ReserveStockRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getReserveStockMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Gives the stock of a reservation back. Idempotent: releasing a
     * released reservation returns it unchanged, and releasing an unknown id
     * records a released, empty reservation so that a late ReserveStock with
     * that id takes nothing.
     * </pre>
     */
    public dev.shopmesh.product.v1.Reservation releaseStock(dev.shopmesh.product.v1.ReleaseStockRequest request) throws io.grpc.StatusException {
      return io.grpc.stub.ClientCalls.blockingV2UnaryCall(
          getChannel(), getReleaseStockMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do limited synchronous rpc calls to service ProductService.
   * <pre>
   * ProductService owns the catalog and the stock of every product.
   * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
   * internal to the mesh (called by the orders service) and the gateway's
   * public listener does not route them.
   * </pre>
   */
  public static final class ProductServiceBlockingStub
      extends io.grpc.stub.AbstractBlockingStub<ProductServiceBlockingStub> {
    private ProductServiceBlockingStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ProductServiceBlockingStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ProductServiceBlockingStub(channel, callOptions);
    }

    /**
     * <pre>
     * Adds a product to the catalog. A second product with the same `sku`
     * fails with ALREADY_EXISTS.
     * </pre>
     */
    public dev.shopmesh.product.v1.Product createProduct(dev.shopmesh.product.v1.CreateProductRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getCreateProductMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Returns one product by resource name.
     * </pre>
     */
    public dev.shopmesh.product.v1.Product getProduct(dev.shopmesh.product.v1.GetProductRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getGetProductMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Lists products in creation order, oldest first. Paging is by keyset, so
     * pages stay stable while products are added.
     * </pre>
     */
    public dev.shopmesh.product.v1.ListProductsResponse listProducts(dev.shopmesh.product.v1.ListProductsRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getListProductsMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask` (title, description, price,
     * stock). `name`, `sku` and `create_time` cannot be changed.
     * </pre>
     */
    public dev.shopmesh.product.v1.Product updateProduct(dev.shopmesh.product.v1.UpdateProductRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getUpdateProductMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Takes stock for every item at once, or for none: when one item
     * is short the call fails with FAILED_PRECONDITION and nothing is taken.
     * Idempotent by `reservation_id`: a replay returns the first result.
     * </pre>
     */
    public dev.shopmesh.product.v1.Reservation reserveStock(dev.shopmesh.product.v1.ReserveStockRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReserveStockMethod(), getCallOptions(), request);
    }

    /**
     * <pre>
     * Internal. Gives the stock of a reservation back. Idempotent: releasing a
     * released reservation returns it unchanged, and releasing an unknown id
     * records a released, empty reservation so that a late ReserveStock with
     * that id takes nothing.
     * </pre>
     */
    public dev.shopmesh.product.v1.Reservation releaseStock(dev.shopmesh.product.v1.ReleaseStockRequest request) {
      return io.grpc.stub.ClientCalls.blockingUnaryCall(
          getChannel(), getReleaseStockMethod(), getCallOptions(), request);
    }
  }

  /**
   * A stub to allow clients to do ListenableFuture-style rpc calls to service ProductService.
   * <pre>
   * ProductService owns the catalog and the stock of every product.
   * ReserveStock and ReleaseStock have no HTTP binding on purpose: they are
   * internal to the mesh (called by the orders service) and the gateway's
   * public listener does not route them.
   * </pre>
   */
  public static final class ProductServiceFutureStub
      extends io.grpc.stub.AbstractFutureStub<ProductServiceFutureStub> {
    private ProductServiceFutureStub(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      super(channel, callOptions);
    }

    @java.lang.Override
    protected ProductServiceFutureStub build(
        io.grpc.Channel channel, io.grpc.CallOptions callOptions) {
      return new ProductServiceFutureStub(channel, callOptions);
    }

    /**
     * <pre>
     * Adds a product to the catalog. A second product with the same `sku`
     * fails with ALREADY_EXISTS.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.product.v1.Product> createProduct(
        dev.shopmesh.product.v1.CreateProductRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getCreateProductMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Returns one product by resource name.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.product.v1.Product> getProduct(
        dev.shopmesh.product.v1.GetProductRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getGetProductMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Lists products in creation order, oldest first. Paging is by keyset, so
     * pages stay stable while products are added.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.product.v1.ListProductsResponse> listProducts(
        dev.shopmesh.product.v1.ListProductsRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getListProductsMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Changes the fields named in `update_mask` (title, description, price,
     * stock). `name`, `sku` and `create_time` cannot be changed.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.product.v1.Product> updateProduct(
        dev.shopmesh.product.v1.UpdateProductRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getUpdateProductMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Internal. Takes stock for every item at once, or for none: when one item
     * is short the call fails with FAILED_PRECONDITION and nothing is taken.
     * Idempotent by `reservation_id`: a replay returns the first result.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.product.v1.Reservation> reserveStock(
        dev.shopmesh.product.v1.ReserveStockRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReserveStockMethod(), getCallOptions()), request);
    }

    /**
     * <pre>
     * Internal. Gives the stock of a reservation back. Idempotent: releasing a
     * released reservation returns it unchanged, and releasing an unknown id
     * records a released, empty reservation so that a late ReserveStock with
     * that id takes nothing.
     * </pre>
     */
    public com.google.common.util.concurrent.ListenableFuture<dev.shopmesh.product.v1.Reservation> releaseStock(
        dev.shopmesh.product.v1.ReleaseStockRequest request) {
      return io.grpc.stub.ClientCalls.futureUnaryCall(
          getChannel().newCall(getReleaseStockMethod(), getCallOptions()), request);
    }
  }

  private static final int METHODID_CREATE_PRODUCT = 0;
  private static final int METHODID_GET_PRODUCT = 1;
  private static final int METHODID_LIST_PRODUCTS = 2;
  private static final int METHODID_UPDATE_PRODUCT = 3;
  private static final int METHODID_RESERVE_STOCK = 4;
  private static final int METHODID_RELEASE_STOCK = 5;

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
        case METHODID_CREATE_PRODUCT:
          serviceImpl.createProduct((dev.shopmesh.product.v1.CreateProductRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product>) responseObserver);
          break;
        case METHODID_GET_PRODUCT:
          serviceImpl.getProduct((dev.shopmesh.product.v1.GetProductRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product>) responseObserver);
          break;
        case METHODID_LIST_PRODUCTS:
          serviceImpl.listProducts((dev.shopmesh.product.v1.ListProductsRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.ListProductsResponse>) responseObserver);
          break;
        case METHODID_UPDATE_PRODUCT:
          serviceImpl.updateProduct((dev.shopmesh.product.v1.UpdateProductRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Product>) responseObserver);
          break;
        case METHODID_RESERVE_STOCK:
          serviceImpl.reserveStock((dev.shopmesh.product.v1.ReserveStockRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Reservation>) responseObserver);
          break;
        case METHODID_RELEASE_STOCK:
          serviceImpl.releaseStock((dev.shopmesh.product.v1.ReleaseStockRequest) request,
              (io.grpc.stub.StreamObserver<dev.shopmesh.product.v1.Reservation>) responseObserver);
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
          getCreateProductMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.product.v1.CreateProductRequest,
              dev.shopmesh.product.v1.Product>(
                service, METHODID_CREATE_PRODUCT)))
        .addMethod(
          getGetProductMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.product.v1.GetProductRequest,
              dev.shopmesh.product.v1.Product>(
                service, METHODID_GET_PRODUCT)))
        .addMethod(
          getListProductsMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.product.v1.ListProductsRequest,
              dev.shopmesh.product.v1.ListProductsResponse>(
                service, METHODID_LIST_PRODUCTS)))
        .addMethod(
          getUpdateProductMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.product.v1.UpdateProductRequest,
              dev.shopmesh.product.v1.Product>(
                service, METHODID_UPDATE_PRODUCT)))
        .addMethod(
          getReserveStockMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.product.v1.ReserveStockRequest,
              dev.shopmesh.product.v1.Reservation>(
                service, METHODID_RESERVE_STOCK)))
        .addMethod(
          getReleaseStockMethod(),
          io.grpc.stub.ServerCalls.asyncUnaryCall(
            new MethodHandlers<
              dev.shopmesh.product.v1.ReleaseStockRequest,
              dev.shopmesh.product.v1.Reservation>(
                service, METHODID_RELEASE_STOCK)))
        .build();
  }

  private static abstract class ProductServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoFileDescriptorSupplier, io.grpc.protobuf.ProtoServiceDescriptorSupplier {
    ProductServiceBaseDescriptorSupplier() {}

    @java.lang.Override
    public com.google.protobuf.Descriptors.FileDescriptor getFileDescriptor() {
      return dev.shopmesh.product.v1.ProductServiceProto.getDescriptor();
    }

    @java.lang.Override
    public com.google.protobuf.Descriptors.ServiceDescriptor getServiceDescriptor() {
      return getFileDescriptor().findServiceByName("ProductService");
    }
  }

  private static final class ProductServiceFileDescriptorSupplier
      extends ProductServiceBaseDescriptorSupplier {
    ProductServiceFileDescriptorSupplier() {}
  }

  private static final class ProductServiceMethodDescriptorSupplier
      extends ProductServiceBaseDescriptorSupplier
      implements io.grpc.protobuf.ProtoMethodDescriptorSupplier {
    private final java.lang.String methodName;

    ProductServiceMethodDescriptorSupplier(java.lang.String methodName) {
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
      synchronized (ProductServiceGrpc.class) {
        result = serviceDescriptor;
        if (result == null) {
          serviceDescriptor = result = io.grpc.ServiceDescriptor.newBuilder(SERVICE_NAME)
              .setSchemaDescriptor(new ProductServiceFileDescriptorSupplier())
              .addMethod(getCreateProductMethod())
              .addMethod(getGetProductMethod())
              .addMethod(getListProductsMethod())
              .addMethod(getUpdateProductMethod())
              .addMethod(getReserveStockMethod())
              .addMethod(getReleaseStockMethod())
              .build();
        }
      }
    }
    return result;
  }
}
