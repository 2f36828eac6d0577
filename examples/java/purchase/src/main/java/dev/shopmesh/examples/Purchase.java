package dev.shopmesh.examples;

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
 * <pre>java -jar purchase/target/purchase.jar [GATEWAY]</pre>
 *
 * <p>GATEWAY is host:port, else $SHOPMESH_GATEWAY, else 127.0.0.1:8080. It prints one line per step
 * and, last, a JSON summary; it exits non-zero when any step fails or returns something unexpected.
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
    // The gateway speaks plaintext HTTP/2 (h2c); use TLS credentials in production.
    ManagedChannel channel =
        Grpc.newChannelBuilder(gateway, InsecureChannelCredentials.create()).build();
    int status = 0;
    try {
      run(channel);
    } catch (StatusRuntimeException e) {
      System.err.println("purchase failed: " + e.getStatus());
      status = 1;
    } catch (IllegalStateException e) {
      System.err.println("purchase failed: " + e.getMessage());
      status = 1;
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    System.exit(status);
  }

  private static void run(ManagedChannel channel) {
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

    // Every call after Login carries the access token.
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, "Bearer " + login.getAccessToken());
    ClientInterceptor bearer = MetadataUtils.newAttachHeadersInterceptor(headers);
    ProductServiceGrpc.ProductServiceBlockingStub products =
        ProductServiceGrpc.newBlockingStub(channel)
            .withInterceptors(bearer)
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

    Order order =
        orders.createOrder(
            CreateOrderRequest.newBuilder()
                .setRequestId(UUID.randomUUID().toString())
                .setOrder(
                    Order.newBuilder()
                        .setUser(user.getName())
                        .addItems(
                            OrderItem.newBuilder().setProduct(product.getName()).setQuantity(2)))
                .setPayment(
                    PaymentCard.newBuilder()
                        .setCardNumber("4242424242424242")
                        .setExpMonth(12)
                        .setExpYear(Year.now().getValue() + 2)
                        .setCvc("123"))
                .build());
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
