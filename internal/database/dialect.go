package database

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// The only places that ask which database RocketFin runs on: domain packages use these helpers,
// and a test (TestDomainPackagesDoNotAskForTheDialect) keeps it so. SQLite, the embedded
// default, lets one writer at a time in, so it needs none of PostgreSQL's row locks.

// ForUpdate makes a query lock the rows it reads until the transaction ends (SELECT … FOR
// UPDATE on PostgreSQL).
func ForUpdate(tx *gorm.DB) *gorm.DB {
	if IsPostgres(tx) {
		return tx.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	return tx
}

// SkipLocked is the clause that ends a SELECT of rows to claim: FOR UPDATE SKIP LOCKED on
// PostgreSQL, so that concurrent claimers take different rows; nothing on SQLite, where claims
// are serial anyway.
func SkipLocked(db *gorm.DB) string {
	if IsPostgres(db) {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// LockName serialises the transactions that take the same name until they end (a PostgreSQL
// transaction-level advisory lock): for rules no row holds, such as "at most 50 keys per
// tenant", without locking a table another package owns.
func LockName(ctx context.Context, tx *gorm.DB, name string) error {
	if !IsPostgres(tx) {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	if err := tx.WithContext(ctx).Exec("SELECT pg_advisory_xact_lock(?)", int64(h.Sum64())).Error; err != nil {
		return fmt.Errorf("lock %s: %w", name, err)
	}
	return nil
}

// Statement is SQL with its arguments.
type Statement struct {
	SQL  string
	Args []any
}

// ExecAll runs statements as one: on PostgreSQL a single statement (all but the last as
// data-modifying CTEs: one round trip, atomic by itself), on SQLite one after another in a
// transaction (a savepoint when tx is one already).
func ExecAll(ctx context.Context, tx *gorm.DB, stmts []Statement) error {
	if len(stmts) == 0 {
		return nil
	}
	tx = tx.WithContext(ctx)
	if !IsPostgres(tx) {
		return tx.Transaction(func(tx *gorm.DB) error {
			for _, s := range stmts {
				if err := tx.Exec(s.SQL, s.Args...).Error; err != nil {
					return err
				}
			}
			return nil
		})
	}
	if len(stmts) == 1 {
		return tx.Exec(stmts[0].SQL, stmts[0].Args...).Error
	}
	var sb strings.Builder
	var all []any
	sb.WriteString("WITH ")
	for i, s := range stmts[:len(stmts)-1] {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "w%d AS (%s)", i, s.SQL)
		all = append(all, s.Args...)
	}
	last := stmts[len(stmts)-1]
	sb.WriteString(" ")
	sb.WriteString(last.SQL)
	all = append(all, last.Args...)
	return tx.Exec(sb.String(), all...).Error
}

// WithAsyncCommit runs fn on a connection of its own whose commits do not wait for the disk
// (PostgreSQL's synchronous_commit off: a crash of the database server may lose the last
// fraction of a second of them, a crash of RocketFin cannot); on SQLite fn runs on db.
func WithAsyncCommit(db *gorm.DB, fn func(conn *gorm.DB) error) error {
	if !IsPostgres(db) {
		return fn(db)
	}
	return db.Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SET synchronous_commit TO off").Error; err != nil {
			return err
		}
		return fn(conn)
	})
}

// Paginate reads one page of a newest-first list (ids grow with time): limit rows older than after,
// or, with before, the limit rows just newer than it, read oldest first (the caller reverses them;
// httpx.NewList does).
func Paginate(q *gorm.DB, after, before string, limit int) *gorm.DB {
	if before != "" {
		return q.Where("id > ?", before).Order("id ASC").Limit(limit)
	}
	if after != "" {
		q = q.Where("id < ?", after)
	}
	return q.Order("id DESC").Limit(limit)
}

// JSONText is the SQL expression of the text value at a key (the first argument bound after it)
// of a JSON object stored as text in column.
func JSONText(db *gorm.DB, column string) string {
	if IsPostgres(db) {
		return "(" + column + "::jsonb ->> ?)"
	}
	return "json_extract(" + column + ", '$.\"' || ? || '\"')"
}
