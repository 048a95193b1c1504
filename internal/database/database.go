// Package database opens RocketFin's database: PostgreSQL through
// gorm.io/driver/postgres when a URL is given, otherwise an embedded SQLite
// file through a pure-Go driver, so that a first run needs nothing
// installed. It also turns driver errors into the few facts stores need.
package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Options says which database to open.
type Options struct {
	// URL is a postgres:// URL; empty selects the embedded SQLite database.
	URL string
	// DataDir holds the embedded database file.
	DataDir string
	// MaxOpenConns bounds the PostgreSQL pool (default 20).
	MaxOpenConns int
}

// Open connects and checks the connection.
func Open(ctx context.Context, opt Options) (*gorm.DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		db  *gorm.DB
		err error
	)
	if opt.URL != "" {
		db, err = gorm.Open(postgres.New(postgres.Config{DSN: opt.URL}), cfg)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("open postgres pool: %w", err)
		}
		n := opt.MaxOpenConns
		if n <= 0 {
			n = 20
		}
		sqlDB.SetMaxOpenConns(n)
		sqlDB.SetMaxIdleConns(n)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		if err := os.MkdirAll(opt.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir %s: %w", opt.DataDir, err)
		}
		path := filepath.Join(opt.DataDir, "rocketfin.db")
		dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		db, err = gorm.Open(sqlite.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		sqlDB, err := db.DB()
		if err != nil {
			return nil, fmt.Errorf("open sqlite pool: %w", err)
		}
		// One writer at a time is what SQLite allows; one connection keeps
		// transactions from ever meeting SQLITE_BUSY.
		sqlDB.SetMaxOpenConns(1)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := Ping(pingCtx, db); err != nil {
		return nil, err
	}
	return db, nil
}

// Ping checks that the database answers.
func Ping(ctx context.Context, db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return fmt.Errorf("database pool: %w", err)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// IsPostgres reports whether db is PostgreSQL (as opposed to SQLite).
func IsPostgres(db *gorm.DB) bool { return db.Dialector.Name() == "postgres" }

// IsUniqueViolation reports whether err is a unique-constraint violation,
// on either database.
func IsUniqueViolation(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// IsUnavailable reports whether err says the database cannot be reached or is restarting: a
// connection refused, broken or terminated (SQLSTATE classes 08 and 57, "too many connections"),
// rather than a fault of the statement. The HTTP layer answers it 503 with Retry-After, never 500.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57") || pgErr.Code == "53300"
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "conn closed") || strings.Contains(msg, "database is closed") ||
		strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "connection reset")
}

// Close releases the pool.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// System names the database as OpenTelemetry's db.system does: "postgresql" or "sqlite".
func System(db *gorm.DB) string {
	if IsPostgres(db) {
		return "postgresql"
	}
	return "sqlite"
}
