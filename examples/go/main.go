// Command purchase runs shopmesh's whole purchase flow through the gateway
// over gRPC with the Go code generated into gen/go: create a user, log in,
// create a product, place an order, read it back and cancel it.
//
//	SHOPMESH_ADMIN_TOKEN=... go run . [GATEWAY]   # GATEWAY: host:port, else $SHOPMESH_GATEWAY, else 127.0.0.1:8080
//
// Creating a product needs the admin role, which a client cannot grant
// itself: $SHOPMESH_ADMIN_TOKEN is an admin's access token (an operator runs
// `python -m svc_user grant-admin EMAIL`, then logs that user in), used for
// CreateProduct alone. Every other call runs as the user created here, with
// its own token. Before CreateOrder goes out, the request is checked against
// the contract's protovalidate rules, and so is a deliberately bad copy
// (quantity 0), whose violation is printed and which is never sent.
//
// It prints one line per step and, last, a JSON summary; it exits non-zero
// when any step fails or returns something unexpected.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"buf.build/go/protovalidate"
	"google.golang.org/genproto/googleapis/type/money"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	orderv1 "shopmesh.dev/gen/go/shopmesh/order/v1"
	paymentv1 "shopmesh.dev/gen/go/shopmesh/payment/v1"
	productv1 "shopmesh.dev/gen/go/shopmesh/product/v1"
	userv1 "shopmesh.dev/gen/go/shopmesh/user/v1"
)

const password = "correct horse battery"

func main() {
	gateway := os.Getenv("SHOPMESH_GATEWAY")
	if len(os.Args) > 1 {
		gateway = os.Args[1]
	}
	if gateway == "" {
		gateway = "127.0.0.1:8080"
	}
	if err := run(gateway, os.Getenv("SHOPMESH_ADMIN_TOKEN")); err != nil {
		fmt.Fprintln(os.Stderr, "purchase failed:", err)
		os.Exit(1)
	}
}

func run(gateway, adminToken string) error {
	// Checked before any call, so a missing token is not mistaken for a server-side refusal.
	if adminToken == "" {
		return errors.New("SHOPMESH_ADMIN_TOKEN is not set: CreateProduct needs an admin's access token")
	}
	validator, err := protovalidate.New()
	if err != nil {
		return fmt.Errorf("protovalidate: %w", err)
	}
	// The gateway speaks plaintext HTTP/2 (h2c); use TLS credentials in production.
	conn, err := grpc.NewClient(gateway, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	users := userv1.NewUserServiceClient(conn)
	products := productv1.NewProductServiceClient(conn)
	orders := orderv1.NewOrderServiceClient(conn)

	base, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctx := base
	tag := randomHex(5)

	user, err := users.CreateUser(ctx, &userv1.CreateUserRequest{
		User:     &userv1.User{Email: "go-" + tag + "@example.com", DisplayName: "Go client"},
		Password: password,
	})
	if err != nil {
		return fmt.Errorf("CreateUser: %w", err)
	}
	fmt.Printf("created user   %s (%s)\n", user.GetName(), user.GetEmail())

	login, err := users.Login(ctx, &userv1.LoginRequest{Email: user.GetEmail(), Password: password})
	if err != nil {
		return fmt.Errorf("Login: %w", err)
	}
	if login.GetAccessToken() == "" {
		return fmt.Errorf("Login returned no access token")
	}
	fmt.Printf("logged in      %s token, expires in %ds\n", login.GetTokenType(), login.GetExpiresIn())
	// Every call after Login carries the user's token, except CreateProduct, which needs an admin's.
	ctx = metadata.AppendToOutgoingContext(base, "authorization", "Bearer "+login.GetAccessToken())
	adminCtx := metadata.AppendToOutgoingContext(base, "authorization", "Bearer "+adminToken)

	product, err := products.CreateProduct(adminCtx, &productv1.CreateProductRequest{Product: &productv1.Product{
		Sku:   "GO-MUG-" + tag,
		Title: "Gopher mug",
		Price: &money.Money{CurrencyCode: "USD", Units: 12, Nanos: 500_000_000},
		Stock: 10,
	}})
	if err != nil {
		return fmt.Errorf("CreateProduct: %w", err)
	}
	fmt.Printf("created product %s %s at %s, stock %d\n", product.GetName(), product.GetSku(), price(product.GetPrice()), product.GetStock())

	request := &orderv1.CreateOrderRequest{
		RequestId: randomUUID(),
		// No Order.User: the gateway's token names the buyer.
		Order: &orderv1.Order{
			Items: []*orderv1.OrderItem{{Product: product.GetName(), Quantity: 2}},
		},
		Payment: &paymentv1.PaymentCard{
			CardNumber: "4242424242424242",
			ExpMonth:   12,
			ExpYear:    int32(time.Now().Year() + 2),
			Cvc:        "123",
		},
	}
	// The services enforce the same rules; checking here saves a round trip.
	if err := validator.Validate(request); err != nil {
		return fmt.Errorf("CreateOrder request: %w", err)
	}
	if err := showRejected(validator, request); err != nil {
		return err
	}

	order, err := orders.CreateOrder(ctx, request)
	if err != nil {
		return fmt.Errorf("CreateOrder: %w", err)
	}
	if order.GetStatus() != orderv1.Order_CONFIRMED {
		return fmt.Errorf("CreateOrder: status %s (%s), want CONFIRMED", order.GetStatus(), order.GetFailureReason())
	}
	if got := price(order.GetTotal()); got != "25.00 USD" {
		return fmt.Errorf("CreateOrder: total %s, want 25.00 USD", got)
	}
	fmt.Printf("placed order   %s %s, total %s, payment %s\n", order.GetName(), order.GetStatus(), price(order.GetTotal()), order.GetPayment())

	read, err := orders.GetOrder(ctx, &orderv1.GetOrderRequest{Name: order.GetName()})
	if err != nil {
		return fmt.Errorf("GetOrder: %w", err)
	}
	if read.GetName() != order.GetName() || read.GetStatus() != orderv1.Order_CONFIRMED {
		return fmt.Errorf("GetOrder: got %s %s, want %s CONFIRMED", read.GetName(), read.GetStatus(), order.GetName())
	}
	fmt.Printf("read order     %s %s, %d item(s)\n", read.GetName(), read.GetStatus(), len(read.GetItems()))

	cancelled, err := orders.CancelOrder(ctx, &orderv1.CancelOrderRequest{Name: order.GetName()})
	if err != nil {
		return fmt.Errorf("CancelOrder: %w", err)
	}
	if cancelled.GetStatus() != orderv1.Order_CANCELLED {
		return fmt.Errorf("CancelOrder: status %s, want CANCELLED", cancelled.GetStatus())
	}
	fmt.Printf("cancelled      %s %s\n", cancelled.GetName(), cancelled.GetStatus())

	summary, err := json.Marshal(map[string]string{
		"client":  "go",
		"user":    user.GetName(),
		"product": product.GetName(),
		"order":   order.GetName(),
		"payment": order.GetPayment(),
		"total":   price(order.GetTotal()),
		"status":  cancelled.GetStatus().String(),
	})
	if err != nil {
		return err
	}
	fmt.Printf("summary: %s\n", summary)
	return nil
}

// showRejected validates a copy of request with quantity 0, which the
// contract forbids, and prints its violations; the copy is never sent.
func showRejected(validator protovalidate.Validator, request *orderv1.CreateOrderRequest) error {
	bad := proto.CloneOf(request)
	bad.GetOrder().GetItems()[0].Quantity = 0
	err := validator.Validate(bad)
	var invalid *protovalidate.ValidationError
	if !errors.As(err, &invalid) {
		return fmt.Errorf("client-side validation accepted quantity 0 (error: %v)", err)
	}
	for _, v := range invalid.Violations {
		fmt.Printf("client-side validation: %s: %s\n", protovalidate.FieldPathString(v.Proto.GetField()), v.Proto.GetMessage())
	}
	return nil
}

// price formats a google.type.Money with two decimals, e.g. "25.00 USD".
func price(m *money.Money) string {
	cents := m.GetUnits()*100 + int64(m.GetNanos())/10_000_000
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, m.GetCurrencyCode())
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// randomUUID returns a random (version 4) UUID, the order's idempotency key.
func randomUUID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
