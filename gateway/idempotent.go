package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/rocketfin/rocketfin/internal/httpx"
	"github.com/rocketfin/rocketfin/internal/problem"
	"github.com/rocketfin/rocketfin/keys"
)

// Idempotent gives a creating endpoint that charges nothing (a consent,
// say) the contract's Idempotency-Key: the first 2xx answer is stored and
// replayed for the same key and body, another body is 409
// idempotency_conflict, and a failed call leaves the key free. Scoring calls
// do the same inside their charging transaction instead. Endpoints whose
// answer holds a secret must not use it: the answer is stored in clear.
func (g *Gateway) Idempotent() gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader("Idempotency-Key")
		if key == "" {
			c.Next()
			return
		}
		if err := validIdempotencyKey(key); err != nil {
			httpx.Fail(c, err)
			return
		}
		body, err := httpx.ReadBody(c)
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		fmt.Fprintf(h, "%s %s\n", c.Request.Method, c.FullPath())
		h.Write(body)
		fingerprint := hex.EncodeToString(h.Sum(nil))

		ctx := c.Request.Context()
		p := keys.PrincipalOf(c)
		if stored, found, err := g.replay(ctx, p, key, fingerprint); err != nil || found {
			if err != nil {
				httpx.Fail(c, err)
				return
			}
			c.Header("Idempotent-Replayed", "true")
			c.Data(stored.status, "application/json; charset=utf-8", stored.body)
			c.Abort()
			return
		}
		now := g.clock.Now()
		err = g.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return g.claim(ctx, tx, p, key, fingerprint, "", now)
		})
		if errors.Is(err, errReplay) {
			httpx.Fail(c, problem.New(problem.IdempotencyConflict, "a call with this Idempotency-Key is in progress; retry"))
			return
		}
		if err != nil {
			httpx.Fail(c, err)
			return
		}
		rec := &recorder{ResponseWriter: c.Writer}
		c.Writer = rec
		c.Next()

		// The answer is recorded even if the client has gone: otherwise the
		// key would stay claimed without an answer until it expires.
		done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		db := g.db.WithContext(done)
		if rec.Status() >= 200 && rec.Status() < 300 {
			err = db.Exec(`UPDATE idempotency_keys SET status = ?, response = ? WHERE tenant_id = ? AND environment = ? AND key = ?`,
				rec.Status(), rec.body.String(), p.TenantID, string(p.Environment), key).Error
		} else {
			err = db.Exec(`DELETE FROM idempotency_keys WHERE tenant_id = ? AND environment = ? AND key = ? AND response = ''`,
				p.TenantID, string(p.Environment), key).Error
		}
		if err != nil {
			httpx.Logger(c).Error("record idempotent answer", "error", err.Error())
		}
	}
}

// recorder keeps a copy of what a handler writes.
type recorder struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) {
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

var _ http.ResponseWriter = (*recorder)(nil)
