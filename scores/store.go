package scores

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/metering"
)

const decisionColumns = `id, tenant_id, environment, key_id, request_id, company_id, consent_id, model_version, score, pd_12m,
	grade, recommendation, input, input_sha256, output, latency_us, as_of, created_at, language`

// decisionInsert is the INSERT statement of decision records, with its
// arguments. Plain SQL, as it runs on every call: the ORM's reflection
// would cost more than the insert.
func decisionInsert(ds []Decision) (string, []any) {
	var sb strings.Builder
	sb.WriteString("INSERT INTO decisions (" + decisionColumns + ") VALUES ")
	args := make([]any, 0, len(ds)*19)
	for i := range ds {
		d := &ds[i]
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
		args = append(args, d.ID, d.TenantID, d.Environment, d.KeyID, d.RequestID, d.CompanyID, d.ConsentID, d.ModelVersion,
			d.Score, d.PD12m, d.Grade, d.Recommendation, d.Input, d.InputSHA256, d.Output, d.LatencyUS, d.AsOf, d.CreatedAt, d.Language)
	}
	return sb.String(), args
}

// insertRecords writes decision records, their usage events and the
// outbox row of a metered call. On PostgreSQL it is one statement (one
// round trip, all or nothing); on SQLite, one statement each inside the
// caller's transaction.
func insertRecords(ctx context.Context, tx *gorm.DB, ds []Decision, evs []metering.UsageEvent, outbox *metering.OutboxRow) error {
	dSQL, dArgs := decisionInsert(ds)
	uSQL, uArgs := metering.UsageInsert(evs)
	stmts := []string{dSQL, uSQL}
	args := [][]any{dArgs, uArgs}
	if outbox != nil {
		oSQL, oArgs := metering.OutboxInsert(outbox)
		stmts, args = append(stmts, oSQL), append(args, oArgs)
	}
	tx = tx.WithContext(ctx)
	if database.IsPostgres(tx) {
		var sb strings.Builder
		var all []any
		sb.WriteString("WITH ")
		for i, s := range stmts[:len(stmts)-1] {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprintf(&sb, "w%d AS (%s)", i, s)
			all = append(all, args[i]...)
		}
		sb.WriteString(" ")
		sb.WriteString(stmts[len(stmts)-1])
		all = append(all, args[len(args)-1]...)
		return tx.Exec(sb.String(), all...).Error
	}
	for i, s := range stmts {
		if err := tx.Exec(s, args[i]...).Error; err != nil {
			return err
		}
	}
	return nil
}
