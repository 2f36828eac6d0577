// The whole purchase flow through shopmesh's gateway over gRPC, with the
// TypeScript code generated into gen/ts (the @shopmesh/contracts package):
// create a user, log in, create a product, place an order, read it back and
// cancel it.
//
//   npm ci && npm run build && SHOPMESH_ADMIN_TOKEN=... node dist/purchase.js [GATEWAY]
//
// GATEWAY is host:port, else $SHOPMESH_GATEWAY, else 127.0.0.1:8080.
// Creating a product needs the admin role, which a client cannot grant itself:
// $SHOPMESH_ADMIN_TOKEN is an admin's access token (an operator runs
// `python -m svc_user grant-admin EMAIL`, then logs that user in), used for
// CreateProduct alone. Every other call runs as the user created here, with its
// own token. Before CreateOrder goes out, the request is checked against the
// contract's protovalidate rules, and so is a deliberately bad copy (quantity
// 0), whose violation is printed and which is never sent.
//
// It prints one line per step and, last, a JSON summary; it exits non-zero
// when any step fails or returns something unexpected.

import { randomBytes, randomUUID } from "node:crypto";

import { clone, create } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { createValidator, type Validator } from "@bufbuild/protovalidate";
import type { Money } from "@shopmesh/contracts/google/type/money_pb.js";
import {
  type CreateOrderRequest,
  CreateOrderRequestSchema,
  Order_Status,
  OrderService,
} from "@shopmesh/contracts/shopmesh/order/v1/order_service_pb.js";
import { ProductService } from "@shopmesh/contracts/shopmesh/product/v1/product_service_pb.js";
import { UserService } from "@shopmesh/contracts/shopmesh/user/v1/user_service_pb.js";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

const PASSWORD = "correct horse battery";

/** Formats a google.type.Money with two decimals, e.g. "25.00 USD". */
function price(m: Money | undefined): string {
  const cents = (m?.units ?? 0n) * 100n + BigInt(Math.trunc((m?.nanos ?? 0) / 10_000_000));
  return `${cents / 100n}.${String(cents % 100n).padStart(2, "0")} ${m?.currencyCode ?? ""}`;
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/**
 * Validates a copy of `request` with quantity 0, which the contract forbids,
 * and prints its violations; the copy is never sent.
 */
function showRejected(validator: Validator, request: CreateOrderRequest): void {
  const bad = clone(CreateOrderRequestSchema, request);
  bad.order!.items[0].quantity = 0;
  const result = validator.validate(CreateOrderRequestSchema, bad);
  if (result.kind !== "invalid") {
    throw new Error(`client-side validation accepted quantity 0 (${result.kind}: ${result.error ?? ""})`);
  }
  for (const v of result.violations) {
    console.log(`client-side validation: ${pathToString(v.field)}: ${v.message}`);
  }
}

async function purchase(gateway: string, adminToken: string | undefined): Promise<void> {
  // Checked before any call, so a missing token is not mistaken for a server-side refusal.
  if (!adminToken) throw new Error("SHOPMESH_ADMIN_TOKEN is not set: CreateProduct needs an admin's access token");
  const validator = createValidator();

  // Every call after Login carries the user's token, except CreateProduct: it brings an admin's in its
  // call options, which the interceptor leaves alone.
  let token = "";
  const bearer: Interceptor = (next) => async (req) => {
    if (token && !req.header.has("authorization")) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  // gRPC over HTTP/2; the gateway speaks plaintext (h2c), hence http://.
  const transport = createGrpcTransport({ baseUrl: `http://${gateway}`, interceptors: [bearer] });
  const users = createClient(UserService, transport);
  const products = createClient(ProductService, transport);
  const orders = createClient(OrderService, transport);
  const options = { timeoutMs: 10_000 };
  const tag = randomBytes(5).toString("hex");

  const user = await users.createUser(
    { user: { email: `ts-${tag}@example.com`, displayName: "TypeScript client" }, password: PASSWORD },
    options,
  );
  console.log(`created user    ${user.name} (${user.email})`);

  const login = await users.login({ email: user.email, password: PASSWORD }, options);
  expect(login.accessToken !== "", "Login returned no access token");
  token = login.accessToken;
  console.log(`logged in       ${login.tokenType} token, expires in ${login.expiresIn}s`);

  const product = await products.createProduct(
    {
      product: {
        sku: `TS-MUG-${tag}`,
        title: "TypeScript mug",
        price: { currencyCode: "USD", units: 12n, nanos: 500_000_000 },
        stock: 10,
      },
    },
    { ...options, headers: { authorization: `Bearer ${adminToken}` } },
  );
  console.log(`created product ${product.name} ${product.sku} at ${price(product.price)}, stock ${product.stock}`);

  const request = create(CreateOrderRequestSchema, {
    requestId: randomUUID(),
    // No order.user: the gateway's token names the buyer.
    order: { items: [{ product: product.name, quantity: 2 }] },
    payment: {
      cardNumber: "4242424242424242",
      expMonth: 12,
      expYear: new Date().getFullYear() + 2,
      cvc: "123",
    },
  });
  // The services enforce the same rules; checking here saves a round trip.
  const checked = validator.validate(CreateOrderRequestSchema, request);
  if (checked.kind !== "valid") throw new Error(`CreateOrder request: ${checked.error}`);
  showRejected(validator, request);

  const order = await orders.createOrder(request, options);
  expect(
    order.status === Order_Status.CONFIRMED,
    `CreateOrder: status ${Order_Status[order.status]} (${order.failureReason}), want CONFIRMED`,
  );
  expect(price(order.total) === "25.00 USD", `CreateOrder: total ${price(order.total)}, want 25.00 USD`);
  console.log(
    `placed order    ${order.name} ${Order_Status[order.status]}, total ${price(order.total)}, payment ${order.payment}`,
  );

  const read = await orders.getOrder({ name: order.name }, options);
  expect(
    read.name === order.name && read.status === Order_Status.CONFIRMED,
    `GetOrder: got ${read.name} ${Order_Status[read.status]}, want ${order.name} CONFIRMED`,
  );
  console.log(`read order      ${read.name} ${Order_Status[read.status]}, ${read.items.length} item(s)`);

  const cancelled = await orders.cancelOrder({ name: order.name }, options);
  expect(
    cancelled.status === Order_Status.CANCELLED,
    `CancelOrder: status ${Order_Status[cancelled.status]}, want CANCELLED`,
  );
  console.log(`cancelled       ${cancelled.name} ${Order_Status[cancelled.status]}`);

  const summary = {
    client: "ts",
    user: user.name,
    product: product.name,
    order: order.name,
    payment: order.payment,
    total: price(order.total),
    status: Order_Status[cancelled.status],
  };
  console.log(`summary: ${JSON.stringify(summary)}`);
}

const gateway = process.argv[2] ?? process.env.SHOPMESH_GATEWAY ?? "127.0.0.1:8080";
purchase(gateway, process.env.SHOPMESH_ADMIN_TOKEN).catch((err: unknown) => {
  const message = err instanceof ConnectError ? `${Code[err.code]}: ${err.rawMessage}` : String(err);
  console.error(`purchase failed: ${message}`);
  process.exitCode = 1;
});
