package migrations_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/dbtest"
	"github.com/rocketfin/rocketfin/migrations"
)

func TestMigrationsAreRecordedAndIdempotent(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		all, err := migrations.All()
		if err != nil {
			t.Fatal(err)
		}
		var recorded int64
		if err := db.Table("schema_migrations").Count(&recorded).Error; err != nil {
			t.Fatal(err)
		}
		if int(recorded) != len(all) {
			t.Fatalf("schema_migrations holds %d rows, want %d", recorded, len(all))
		}
		again, err := migrations.Apply(context.Background(), db)
		if err != nil {
			t.Fatalf("second Apply: %v", err)
		}
		if len(again) != 0 {
			t.Fatalf("second Apply applied %v, want nothing", again)
		}
	})
}

func TestTimestampsRoundTripInUTC(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *gorm.DB) {
		want := time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)
		if err := db.Exec(`INSERT INTO tenants (id, name, country, signup_email_lower, status, plan, trial_ends_at, credits_remaining, created_at, updated_at)
			VALUES ('ten_x', 'X', 'FR', 'x@example.com', 'trial', 'trial', ?, 5, ?, ?)`, want, want, want).Error; err != nil {
			t.Fatal(err)
		}
		var got time.Time
		if err := db.Raw("SELECT trial_ends_at FROM tenants WHERE id = 'ten_x'").Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Fatalf("trial_ends_at = %v, want %v", got, want)
		}
		if err := db.Exec("UPDATE tenants SET credits_remaining = -1 WHERE id = 'ten_x'").Error; err == nil {
			t.Fatal("credits_remaining went below zero: the CHECK constraint is missing")
		}
	})
}
