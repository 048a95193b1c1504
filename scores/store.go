package scores

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
)

const decisionColumns = `id, tenant_id, environment, key_id, request_id, company_id, consent_id, model_version, score, pd_12m,
	grade, recommendation, input, input_sha256, output, latency_us, as_of, created_at, language, metadata, monitor_id,
	previous_decision_id, cause`

// decisionInsert is the INSERT statement of decision records. Plain SQL, as it runs on every
// call: the ORM's reflection would cost more than the insert.
func decisionInsert(ds []Decision) database.Statement {
	var sb strings.Builder
	sb.WriteString("INSERT INTO decisions (" + decisionColumns + ") VALUES ")
	args := make([]any, 0, len(ds)*23)
	for i := range ds {
		d := &ds[i]
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
		args = append(args, d.ID, d.TenantID, d.Environment, d.KeyID, d.RequestID, d.CompanyID, d.ConsentID, d.ModelVersion,
			d.Score, d.PD12m, d.Grade, d.Recommendation, d.Input, d.InputSHA256, d.Output, d.LatencyUS, d.AsOf, d.CreatedAt, d.Language,
			d.Metadata, d.MonitorID, d.PreviousDecisionID, d.Cause)
	}
	return database.Statement{SQL: sb.String(), Args: args}
}

// insertRecords writes decision records, their usage events and the
// outbox rows of metered calls. On PostgreSQL it is one statement (one
// round trip, all or nothing); on SQLite, one statement each inside the
// caller's transaction.
func insertRecords(ctx context.Context, tx *gorm.DB, ds []Decision, evs []metering.UsageEvent, outbox []*metering.OutboxRow) error {
	stmts := []database.Statement{decisionInsert(ds), metering.UsageInsert(evs)}
	if len(outbox) > 0 {
		stmts = append(stmts, metering.OutboxInsert(outbox))
	}
	return database.ExecAll(ctx, tx, stmts)
}

// decision loads a decision record of the principal's tenant and environment; any other is 404.
func (g *Service) decision(ctx context.Context, p keys.Principal, id string) (Decision, error) {
	var d Decision
	if !ids.Valid(ids.Score, id) {
		return d, problem.New(problem.NotFound, "no score %s", id)
	}
	err := g.db.WithContext(ctx).
		Where("tenant_id = ? AND environment = ? AND id = ?", p.TenantID, string(p.Environment), id).Take(&d).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return d, problem.New(problem.NotFound, "no score %s", id)
	}
	if err != nil {
		return d, fmt.Errorf("get decision %s: %w", id, err)
	}
	return d, nil
}

// decisions lists the principal's decision records newest first, of one company when companyID
// is set, older than startingAfter when it is set.
func (g *Service) decisions(ctx context.Context, p keys.Principal, page httpx.Page, f decisionFilter) ([]Decision, error) {
	q := g.db.WithContext(ctx).Where("tenant_id = ? AND environment = ?", p.TenantID, string(p.Environment))
	if page.CompanyID != "" {
		q = q.Where("company_id = ?", page.CompanyID)
	}
	q = f.metadata.Apply(q, "metadata")
	if f.recommendation != "" {
		q = q.Where("recommendation = ?", f.recommendation)
	}
	if f.from != nil {
		q = q.Where("created_at >= ?", f.from.UTC())
	}
	if f.to != nil {
		q = q.Where("created_at <= ?", f.to.UTC())
	}
	var list []Decision
	if err := database.Paginate(q, page.StartingAfter, page.EndingBefore, page.Limit+1).Find(&list).Error; err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	return list, nil
}

// Latest is the newest decision of a company of the principal's tenant and environment made at or
// after since, or nil.
func (g *Service) Latest(ctx context.Context, p keys.Principal, companyID string, since time.Time) (*Decision, error) {
	var ds []Decision
	err := g.db.WithContext(ctx).Where("tenant_id = ? AND environment = ? AND company_id = ? AND created_at >= ?",
		p.TenantID, string(p.Environment), companyID, since.UTC()).Order("id DESC").Limit(1).Find(&ds).Error
	if err != nil {
		return nil, fmt.Errorf("latest decision of %s: %w", companyID, err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	return &ds[0], nil
}
