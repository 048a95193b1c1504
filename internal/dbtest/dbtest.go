// Package dbtest gives tests a fresh, migrated database: on PostgreSQL a new
// database cloned from a migrated template (one template per set of
// migrations), on SQLite a new file. PostgreSQL comes from
// ROCKETFIN_TEST_DATABASE_URL (default: the local server on 127.0.0.1:5432
// as postgres). When it cannot be reached the test is skipped, except under
// CI=true or ROCKETFIN_REQUIRE_POSTGRES=1 (set by scripts/test), where that
// is a failure.
package dbtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/testenv"
	"github.com/rocketfin/rocketfin/migrations"
)

// DefaultAdminURL is used when ROCKETFIN_TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

func adminURL() string {
	if u := os.Getenv("ROCKETFIN_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

func unavailable(t testing.TB, err error) {
	t.Helper()
	testenv.Missing(t, "PostgreSQL unavailable (set ROCKETFIN_TEST_DATABASE_URL): %v", err)
}

// PostgresURL creates a fresh migrated PostgreSQL database for this test,
// drops it when the test ends, and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		unavailable(t, templateErr)
	}
	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		unavailable(t, err)
	}
	defer admin.Close(ctx)
	name := "rf_test_" + randomHex(6)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, adminURL())
		if err != nil {
			t.Logf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(adminURL(), name)
}

// Postgres opens a fresh migrated PostgreSQL database for this test.
func Postgres(t testing.TB) *gorm.DB {
	t.Helper()
	u := PostgresURL(t)
	db, err := database.Open(context.Background(), database.Options{URL: u, MaxOpenConns: 30})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	return db
}

// SQLite opens a fresh migrated embedded database in a temporary folder.
func SQLite(t testing.TB) *gorm.DB {
	t.Helper()
	db, err := database.Open(context.Background(), database.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = database.Close(db) })
	if _, err := migrations.Apply(context.Background(), db); err != nil {
		t.Fatalf("migrate sqlite: %v", err)
	}
	return db
}

// Each runs fn once against PostgreSQL and once against SQLite, as subtests.
func Each(t *testing.T, fn func(t *testing.T, db *gorm.DB)) {
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
}

func ensureTemplate(ctx context.Context) (string, error) {
	all, err := migrations.All()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range all {
		fmt.Fprintf(h, "%d\n%s\n", m.Version, m.SQL)
	}
	fmt.Fprintf(h, "river %d\n", migrations.JobsSchemaVersion())
	name := "rf_tpl_" + hex.EncodeToString(h.Sum(nil))[:16]

	admin, err := pgx.Connect(ctx, adminURL())
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", redact(adminURL()), err)
	}
	defer admin.Close(ctx)
	// Test packages run in parallel processes: one builds the template.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(74612025)"); err != nil {
		return "", fmt.Errorf("lock template: %w", err)
	}
	defer admin.Exec(context.Background(), "SELECT pg_advisory_unlock(74612025)")
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look for template: %w", err)
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale template: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	db, err := database.Open(ctx, database.Options{URL: withDatabase(adminURL(), building), MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	_, err = migrations.Apply(ctx, db)
	_ = database.Close(db)
	if err != nil {
		return "", fmt.Errorf("migrate template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
