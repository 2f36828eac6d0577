package dev.shopmesh.examples;

import build.buf.protovalidate.ValidationResult;
import build.buf.protovalidate.Validator;
import build.buf.protovalidate.ValidatorFactory;
import build.buf.protovalidate.Violation;
import build.buf.protovalidate.exceptions.ValidationException;
import build.buf.validate.FieldPath;
import build.buf.validate.FieldPathElement;
import com.google.type.Money;
import dev.shopmesh.order.v1.CancelOrderRequest;
import dev.shopmesh.order.v1.CreateOrderRequest;
import dev.shopmesh.order.v1.GetOrderRequest;
import dev.shopmesh.order.v1.Order;
import dev.shopmesh.order.v1.OrderItem;
import dev.shopmesh.order.v1.OrderServiceGrpc;
import dev.shopmesh.payment.v1.PaymentCard;
import dev.shopmesh.product.v1.CreateProductRequest;
import dev.shopmesh.product.v1.Product;
import dev.shopmesh.product.v1.ProductServiceGrpc;
import dev.shopmesh.user.v1.CreateUserRequest;
import dev.shopmesh.user.v1.LoginRequest;
import dev.shopmesh.user.v1.LoginResponse;
import dev.shopmesh.user.v1.User;
import dev.shopmesh.user.v1.UserServiceGrpc;
import io.grpc.ClientInterceptor;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Year;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The whole purchase flow through shopmesh's gateway over gRPC, with the Java code generated into
 * gen/java (dev.shopmesh:shopmesh-contracts): create a user, log in, create a product, place an
 * order, read it back and cancel it.
 *
 * <pre>SHOPMESH_ADMIN_TOKEN=... java -jar purchase/target/purchase.jar [GATEWAY]</pre>
 *
 * <p>GATEWAY is host:port, else $SHOPMESH_GATEWAY, else 127.0.0.1:8080. Creating a product needs
 * the admin role, which a client cannot grant itself: $SHOPMESH_ADMIN_TOKEN is an admin's access
 * token (an operator runs {@code python -m svc_user grant-admin EMAIL}, then logs that user in),
 * used for CreateProduct alone. Every other call runs as the user created here, with its own token.
 * Before CreateOrder goes out, the request is checked against the contract's protovalidate rules,
 * and so is a deliberately bad copy (quantity 0), whose violation is printed and which is never
 * sent.
 *
 * <p>It prints one line per step and, last, a JSON summary; it exits non-zero when any step fails
 * or returns something unexpected.
 */
public final class Purchase {
  private static final String PASSWORD = "correct horse battery";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private Purchase() {}

  public static void main(String[] args) throws InterruptedException {
    String gateway = args.length > 0 ? args[0] : System.getenv("SHOPMESH_GATEWAY");
    if (gateway == null || gateway.isEmpty()) {
      gateway = "127.0.0.1:8080";
    }
    String adminToken = System.getenv("SHOPMESH_ADMIN_TOKEN");
    // Checked before any call, so a missing token is not mistaken for a server-side refusal.
    if (adminToken == null || adminToken.isEmpty()) {
      System.err.println(
          "purchase failed: SHOPMESH_ADMIN_TOKEN is not set: CreateProduct needs an admin's access"
              + " token");
      System.exit(1);
    }
    // The gateway speaks plaintext HTTP/2 (h2c); use TLS credentials in production.
    ManagedChannel channel =
        Grpc.newChannelBuilder(gateway, InsecureChannelCredentials.create()).build();
    int status = 0;
    try {
      run(channel, adminToken);
    } catch (StatusRuntimeException e) {
      System.err.println("purchase failed: " + e.getStatus());
      status = 1;
    } catch (IllegalStateException | ValidationException e) {
      System.err.println("purchase failed: " + e.getMessage());
      status = 1;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    System.exit(status);
  }

  private static void run(ManagedChannel channel, String adminToken) throws ValidationException {
    Validator validator = ValidatorFactory.newBuilder().build();
    String tag = UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    UserServiceGrpc.UserServiceBlockingStub users =
        UserServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);

    User user =
        users.createUser(
            CreateUserRequest.newBuilder()
                .setUser(
                    User.newBuilder()
                        .setEmail("java-" + tag + "@example.com")
                        .setDisplayName("Java client"))
                .setPassword(PASSWORD)
                .build());
    System.out.printf("created user    %s (%s)%n", user.getName(), user.getEmail());

    LoginResponse login =
        users.login(
            LoginRequest.newBuilder().setEmail(user.getEmail()).setPassword(PASSWORD).build());
    check(!login.getAccessToken().isEmpty(), "Login returned no access token");
    System.out.printf(
        "logged in       %s token, expires in %ds%n", login.getTokenType(), login.getExpiresIn());

    // Every call after Login carries the user's token, except CreateProduct: that needs an admin's.
    ClientInterceptor bearer = bearer(login.getAccessToken());
    ProductServiceGrpc.ProductServiceBlockingStub products =
        ProductServiceGrpc.newBlockingStub(channel)
            .withInterceptors(bearer(adminToken))
            .withDeadlineAfter(30, TimeUnit.SECONDS);
    OrderServiceGrpc.OrderServiceBlockingStub orders =
        OrderServiceGrpc.newBlockingStub(channel)
            .withInterceptors(bearer)
            .withDeadlineAfter(30, TimeUnit.SECONDS);

    Product product =
        products.createProduct(
            CreateProductRequest.newBuilder()
                .setProduct(
                    Product.newBuilder()
                        .setSku("JAVA-MUG-" + tag)
                        .setTitle("Java mug")
                        .setPrice(
                            Money.newBuilder()
                                .setCurrencyCode("USD")
                                .setUnits(12)
                                .setNanos(500_000_000))
                        .setStock(10))
                .build());
    System.out.printf(
        "created product %s %s at %s, stock %d%n",
        product.getName(), product.getSku(), price(product.getPrice()), product.getStock());

    CreateOrderRequest request =
        CreateOrderRequest.newBuilder()
            .setRequestId(UUID.randomUUID().toString())
            // No Order.user: the gateway's token names the buyer.
            .setOrder(
                Order.newBuilder()
                    .addItems(OrderItem.newBuilder().setProduct(product.getName()).setQuantity(2)))
            .setPayment(
                PaymentCard.newBuilder()
                    .setCardNumber("4242424242424242")
                    .setExpMonth(12)
                    .setExpYear(Year.now().getValue() + 2)
                    .setCvc("123"))
            .build();
    // The services enforce the same rules; checking here saves a round trip.
    ValidationResult checked = validator.validate(request);
    check(checked.isSuccess(), "CreateOrder request: " + checked);
    showRejected(validator, request);

    Order order = orders.createOrder(request);
    check(
        order.getStatus() == Order.Status.CONFIRMED,
        "CreateOrder: status "
            + order.getStatus()
            + " ("
            + order.getFailureReason()
            + "), want CONFIRMED");
    check(
        price(order.getTotal()).equals("25.00 USD"),
        "CreateOrder: total " + price(order.getTotal()) + ", want 25.00 USD");
    System.out.printf(
        "placed order    %s %s, total %s, payment %s%n",
        order.getName(), order.getStatus(), price(order.getTotal()), order.getPayment());

    Order read = orders.getOrder(GetOrderRequest.newBuilder().setName(order.getName()).build());
    check(
        read.getName().equals(order.getName()) && read.getStatus() == Order.Status.CONFIRMED,
        "GetOrder: got " + read.getName() + " " + read.getStatus() + ", want CONFIRMED");
    System.out.printf(
        "read order      %s %s, %d item(s)%n",
        read.getName(), read.getStatus(), read.getItemsCount());

    Order cancelled =
        orders.cancelOrder(CancelOrderRequest.newBuilder().setName(order.getName()).build());
    check(
        cancelled.getStatus() == Order.Status.CANCELLED,
        "CancelOrder: status " + cancelled.getStatus() + ", want CANCELLED");
    System.out.printf("cancelled       %s %s%n", cancelled.getName(), cancelled.getStatus());

    Map<String, String> summary = new LinkedHashMap<>();
    summary.put("client", "java");
    summary.put("user", user.getName());
    summary.put("product", product.getName());
    summary.put("order", order.getName());
    summary.put("payment", order.getPayment());
    summary.put("total", price(order.getTotal()));
    summary.put("status", cancelled.getStatus().name());
    System.out.println("summary: " + json(summary));
  }

  private static ClientInterceptor bearer(String token) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + token);
    return MetadataUtils.newAttachHeadersInterceptor(headers);
  }

  /**
   * Validates a copy of {@code request} with quantity 0, which the contract forbids, and prints its
   * violations; the copy is never sent.
   */
  private static void showRejected(Validator validator, CreateOrderRequest request)
      throws ValidationException {
    CreateOrderRequest.Builder bad = request.toBuilder();
    bad.getOrderBuilder().getItemsBuilder(0).setQuantity(0);
    ValidationResult result = validator.validate(bad.build());
    check(!result.isSuccess(), "client-side validation accepted quantity 0");
    for (Violation violation : result.getViolations()) {
      build.buf.validate.Violation v = violation.toProto();
      System.out.printf("client-side validation: %s: %s%n", path(v.getField()), v.getMessage());
    }
  }

  /**
   * A violation's field path as the other protovalidate libraries print it, e.g.
   * order.items[0].quantity (protovalidate-java keeps its formatter package-private).
   */
  private static String path(FieldPath path) {
    StringBuilder out = new StringBuilder();
    for (FieldPathElement element : path.getElementsList()) {
      if (out.length() > 0) {
        out.append('.');
      }
      out.append(element.getFieldName());
      switch (element.getSubscriptCase()) {
        case INDEX -> out.append('[').append(element.getIndex()).append(']');
        case BOOL_KEY -> out.append('[').append(element.getBoolKey()).append(']');
        case INT_KEY -> out.append('[').append(element.getIntKey()).append(']');
        case UINT_KEY ->
            out.append('[').append(Long.toUnsignedString(element.getUintKey())).append(']');
        case STRING_KEY ->
            out.append("[\"")
                .append(element.getStringKey().replace("\\", "\\\\").replace("\"", "\\\""))
                .append("\"]");
        case SUBSCRIPT_NOT_SET -> {}
      }
    }
    return out.toString();
  }

  /** Formats a google.type.Money with two decimals, e.g. "25.00 USD". */
  private static String price(Money m) {
    long cents = m.getUnits() * 100 + m.getNanos() / 10_000_000;
    return String.format("%d.%02d %s", cents / 100, cents % 100, m.getCurrencyCode());
  }

  private static void check(boolean ok, String what) {
    if (!ok) {
      throw new IllegalStateException(what);
    }
  }

  /** A flat JSON object of strings (resource names, enum names: nothing to escape but quotes). */
  private static String json(Map<String, String> fields) {
    return fields.entrySet().stream()
        .map(e -> quote(e.getKey()) + ":" + quote(e.getValue()))
        .collect(Collectors.joining(",", "{", "}"));
  }

  private static String quote(String s) {
    return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }
}
