package httpx

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/rocketfin/rocketfin/internal/ids"
	"github.com/rocketfin/rocketfin/internal/problem"
)

// Page is a cursor into a newest-first list: at most Limit items older than StartingAfter, or
// newer than EndingBefore (the page before), of one company when CompanyID is set (lists of
// company records).
type Page struct {
	Limit         int
	StartingAfter string
	EndingBefore  string
	CompanyID     string
}

// List is the envelope of every list answer.
type List[T any] struct {
	Object  string `json:"object"`
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
}

// ParsePage reads ?limit= (1..100, default 10) and ?starting_after=, which
// must be an id with the given prefix.
func ParsePage(c *gin.Context, prefix string) (Page, error) {
	p := Page{Limit: 10}
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, problem.Field("limit", "must be an integer from 1 to 100")
		}
		p.Limit = n
	}
	for _, cursor := range []struct {
		name string
		dst  *string
	}{{"starting_after", &p.StartingAfter}, {"ending_before", &p.EndingBefore}} {
		if s, ok := c.GetQuery(cursor.name); ok {
			if !ids.Valid(prefix, s) {
				return p, problem.Field(cursor.name, "must be the id of an item of this list: %q followed by 26 characters, as the list answers them", prefix)
			}
			*cursor.dst = s
		}
	}
	if p.StartingAfter != "" && p.EndingBefore != "" {
		return p, problem.Field("ending_before", "goes with no starting_after: page forward with starting_after, back with ending_before")
	}
	return p, nil
}

// ParseCompanyPage is ParsePage for lists of company records, with their ?company_id= filter.
func ParseCompanyPage(c *gin.Context, prefix string) (Page, error) {
	p, err := ParsePage(c, prefix)
	if err != nil {
		return p, err
	}
	p.CompanyID, err = QueryText(c, "company_id", 64)
	return p, err
}

// NewList makes a page of items read with Limit+1 rows (database.Paginate): the extra row says
// there is more; a page read backwards (EndingBefore) is put back newest first.
func NewList[T any](items []T, page Page) List[T] {
	more := len(items) > page.Limit
	if more {
		items = items[:page.Limit]
	}
	if page.EndingBefore != "" {
		slices.Reverse(items)
	}
	if items == nil {
		items = []T{}
	}
	return List[T]{Object: "list", Data: items, HasMore: more}
}

// QueryText returns a free-text query parameter, refusing what no text
// column can hold (invalid UTF-8, NUL) and overlong values with a 400.
func QueryText(c *gin.Context, name string, maxLen int) (string, error) {
	v := c.Query(name)
	if len(v) > maxLen {
		return "", problem.Field(name, "must be at most %d bytes", maxLen)
	}
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return "", problem.Field(name, "must be UTF-8 text without NUL characters")
	}
	return v, nil
}

// ParseCreatedRange reads the created[gte] and created[lte] filters of a list (RFC 3339 times,
// both ends included); an absent one is nil.
func ParseCreatedRange(c *gin.Context) (from, to *time.Time, err error) {
	for name, dst := range map[string]**time.Time{"created[gte]": &from, "created[lte]": &to} {
		if s := c.Query(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return nil, nil, problem.Field(name, "must be an RFC 3339 time such as 2026-11-01T00:00:00Z")
			}
			*dst = &t
		}
	}
	return from, to, nil
}

// RespondList answers a page read from a store: the error as a problem, or the items shown by view
// as a list of the page.
func RespondList[T, V any](c *gin.Context, items []T, err error, page Page, view func(T) V) {
	if err != nil {
		Fail(c, err)
		return
	}
	views := make([]V, len(items))
	for i, it := range items {
		views[i] = view(it)
	}
	JSON(c, http.StatusOK, NewList(views, page))
}
