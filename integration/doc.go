// Package integration holds httptrust's tests and examples with clients
// that are not net/http, against real servers the tests start on loopback:
// gRPC (google.golang.org/grpc, its standard health service), PostgreSQL
// through pgx (github.com/jackc/pgx/v5) and Redis through go-redis
// (github.com/redis/go-redis/v9).
//
// It is a module of its own (its go.mod requires those clients and points
// at the httptrust in the folder above with a replace directive), so
// programs that import httptrust never download these clients. It has no
// code beyond this comment: run its tests from a clone of the repository
// with
//
//	cd integration && go vet ./... && go test -race ./...
//
// The PostgreSQL tests need initdb and postgres (Debian: apt-get install
// postgresql), found on PATH or under /usr/lib/postgresql/*/bin, and the
// Redis tests redis-server; without them they skip, saying so. See
// README.md.
package integration
