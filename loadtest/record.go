package loadtest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/rocketfin/rocketfin/consents"
	"github.com/rocketfin/rocketfin/internal/clock"
	"github.com/rocketfin/rocketfin/internal/database"
	"github.com/rocketfin/rocketfin/internal/money"
	"github.com/rocketfin/rocketfin/internal/ratelimit"
	"github.com/rocketfin/rocketfin/keys"
	"github.com/rocketfin/rocketfin/metering"
	"github.com/rocketfin/rocketfin/scores"
	"github.com/rocketfin/rocketfin/scoring"
)

// LiveCallScript is the pgbench transaction of one metered live call, recorded from the scoring
// call itself rather than copied by hand: package scores runs a call on the load database for the
// tenant (a second call, once the tenant cache is warm, as in steady state) while a recorder
// keeps every statement it sends; the statements become one pgbench transaction in which the
// tenant is :tenant and every id the call made is unique per client and transaction.
func LiveCallScript(ctx context.Context, databaseURL, tenantID string) (string, error) {
	db, err := database.Open(ctx, database.Options{URL: databaseURL, MaxOpenConns: 4})
	if err != nil {
		return "", err
	}
	defer database.Close(db)
	rec := &recorder{}
	db = db.Session(&gorm.Session{Logger: rec})
	engine, err := scoring.New()
	if err != nil {
		return "", err
	}
	clk := clock.System{}
	svc := scores.New(scores.Options{
		DB: db, Clock: clk, Scorer: scores.Local{Engine: engine}, Limiter: ratelimit.NewMemory(),
		Meter:    metering.NewMeter(db, money.Money{Amount: 150, Currency: "EUR"}, clk),
		Consents: consents.NewService(db, clk),
	})
	defer svc.Close()
	call := scores.Call{Principal: keys.Principal{TenantID: tenantID, Environment: keys.Live, CredentialID: "key_pgbench"},
		Body: liveBody(), RequestID: "req_pgbench", Started: time.Now()}
	if _, err := svc.Score(ctx, call); err != nil {
		return "", fmt.Errorf("record a live call: %w", err)
	}
	rec.reset()
	if _, err := svc.Score(ctx, call); err != nil {
		return "", fmt.Errorf("record a live call: %w", err)
	}
	return pgbenchTransaction(rec.statements(), tenantID)
}

// madeID is a quoted id a call makes: a new one per pgbench transaction.
var madeID = regexp.MustCompile(`'(sc|use|evt)_[0-9a-z]{26}'`)

// pgbenchTransaction turns the statements of one call into a pgbench script.
func pgbenchTransaction(stmts []string, tenantID string) (string, error) {
	if len(stmts) == 0 {
		return "", errors.New("the live call ran no statement")
	}
	var b strings.Builder
	b.WriteString("\\set n random(1, 9000000000000000000)\nBEGIN;\n")
	for _, s := range stmts {
		s = strings.Join(strings.Fields(s), " ") // pgbench reads a statement a line
		s = strings.ReplaceAll(s, "'"+tenantID+"'", ":tenant")
		s = madeID.ReplaceAllStringFunc(s, func(id string) string {
			return "('" + id[1:strings.IndexByte(id, '_')+1] + "pgb_' || :client_id || '_' || :n)"
		})
		b.WriteString(s)
		b.WriteString(";\n")
	}
	b.WriteString("END;\n")
	return b.String(), nil
}

// recorder is a GORM logger that keeps the SQL of every statement, with its arguments in place.
type recorder struct {
	mu    sync.Mutex
	stmts []string
}

func (r *recorder) LogMode(logger.LogLevel) logger.Interface { return r }
func (r *recorder) Info(context.Context, string, ...any)     {}
func (r *recorder) Warn(context.Context, string, ...any)     {}
func (r *recorder) Error(context.Context, string, ...any)    {}
func (r *recorder) reset()                                   { r.mu.Lock(); r.stmts = nil; r.mu.Unlock() }
func (r *recorder) statements() []string                     { r.mu.Lock(); defer r.mu.Unlock(); return r.stmts }
func (r *recorder) Trace(_ context.Context, _ time.Time, fc func() (string, int64), err error) {
	if err != nil {
		return
	}
	sql, _ := fc()
	r.mu.Lock()
	r.stmts = append(r.stmts, sql)
	r.mu.Unlock()
}
