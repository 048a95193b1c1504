// Package migrations holds RocketFin's schema as numbered SQL files embedded
// in the binary, and applies the pending ones in order, each in its own
// transaction, recording them in the schema_migrations table, then River's (the job queue's)
// own migrations. The same files
// serve PostgreSQL and the embedded SQLite database, so they use only SQL
// both understand; the one translation is TIMESTAMPTZ, which SQLite is
// told as TIMESTAMP so that its driver reads the column back as a time.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"gorm.io/gorm"
)

//go:embed *.sql
var files embed.FS

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// All returns the embedded migrations in version order.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Apply runs every pending migration and returns the names it applied. On
// PostgreSQL an advisory lock makes replicas starting together take turns.
func Apply(ctx context.Context, db *gorm.DB) ([]string, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	db = db.WithContext(ctx)
	if err := db.Exec(dialect(db, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL)`)).Error; err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []string
	postgres := db.Dialector.Name() == "postgres"
	err = db.Connection(func(conn *gorm.DB) error {
		if postgres {
			const lockID = 7461_2024_0001
			if err := conn.Exec("SELECT pg_advisory_lock(?)", lockID).Error; err != nil {
				return fmt.Errorf("lock migrations: %w", err)
			}
			defer conn.Exec("SELECT pg_advisory_unlock(?)", lockID)
		}
		var done []int
		if err := conn.Raw("SELECT version FROM schema_migrations").Scan(&done).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		have := map[int]bool{}
		for _, v := range done {
			have[v] = true
		}
		for _, m := range all {
			if have[m.Version] {
				continue
			}
			err := conn.Transaction(func(tx *gorm.DB) error {
				if err := tx.Exec(dialect(tx, m.SQL)).Error; err != nil {
					return err
				}
				return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
					m.Version, m.Name, time.Now().UTC()).Error
			})
			if err != nil {
				return fmt.Errorf("apply migration %s: %w", m.Name, err)
			}
			applied = append(applied, m.Name)
		}
		if postgres {
			// Under the same lock, on another connection of the pool (River runs its own).
			names, err := migrateJobs(ctx, db)
			applied = append(applied, names...)
			return err
		}
		return nil
	})
	if err != nil || postgres {
		return applied, err
	}
	// SQLite's one connection is free again for River's migrations.
	names, err := migrateJobs(ctx, db)
	return append(applied, names...), err
}

// migrateJobs applies the schema of River, the job queue of background work (internal/jobs), with
// River's own migrations: its tables are River's to change from one version to the next.
func migrateJobs(ctx context.Context, db *gorm.DB) ([]string, error) {
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("job queue migrations: %w", err)
	}
	var res *rivermigrate.MigrateResult
	if db.Dialector.Name() == "postgres" {
		m, err := rivermigrate.New(riverdatabasesql.New(sqlDB), nil)
		if err != nil {
			return nil, fmt.Errorf("job queue migrations: %w", err)
		}
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return nil, fmt.Errorf("apply job queue migrations: %w", err)
		}
	} else {
		m, err := rivermigrate.New(riversqlite.New(sqlDB), nil)
		if err != nil {
			return nil, fmt.Errorf("job queue migrations: %w", err)
		}
		res, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err != nil {
			return nil, fmt.Errorf("apply job queue migrations: %w", err)
		}
	}
	var names []string
	for _, v := range res.Versions {
		names = append(names, fmt.Sprintf("river_%03d_%s", v.Version, v.Name))
	}
	return names, nil
}

// JobsSchemaVersion is the newest version of River's schema this binary applies (test templates
// are keyed by it).
func JobsSchemaVersion() int {
	m, err := rivermigrate.New(riversqlite.New(nil), nil)
	if err != nil {
		return 0
	}
	all := m.AllVersions()
	return all[len(all)-1].Version
}

// onlyBlock is a part of a migration for one database: lines between "-- postgres only" (or
// "-- sqlite only") and "-- end".
var onlyBlock = regexp.MustCompile(`(?ms)^-- (postgres|sqlite) only\n(.*?)^-- end\n`)

// dialect adapts portable SQL to the database at hand, keeping the blocks meant for it.
func dialect(db *gorm.DB, sql string) string {
	name := db.Dialector.Name()
	sql = onlyBlock.ReplaceAllStringFunc(sql, func(block string) string {
		m := onlyBlock.FindStringSubmatch(block)
		if m[1] == name {
			return m[2]
		}
		return ""
	})
	if name == "sqlite" {
		return strings.ReplaceAll(sql, "TIMESTAMPTZ", "TIMESTAMP")
	}
	return sql
}
