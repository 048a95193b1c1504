// Package polish reads the UCI "Polish companies bankruptcy data" (Tomczak, 2016, CC BY 4.0,
// doi 10.24432/C5F600) and rebuilds each row into the scoring request a client would send
// (ToRequest documents the mapping). The fitter trains on these requests and tests check the
// engine on them, so training sees exactly what production receives. The file itself, with its
// citation, is in testdata/.
package polish

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"github.com/rocketfin/rocketfin/scoring"
)

// File is the training file, relative to the repository root.
const File = "scoring/polish/testdata/1year.arff"

// NumAttrs is the number of ratios of a row (Attr1..Attr64).
const NumAttrs = 64

// Row is one firm-year of the file: its 64 ratios (NaN where the file has "?") and its class.
type Row struct {
	Attr     [NumAttrs]float64
	Bankrupt bool
}

// A returns Attr<n>, numbered from 1 as in the file's documentation.
func (r *Row) A(n int) float64 { return r.Attr[n-1] }

// Dataset is the rows of a file with the company ids their requests carry.
type Dataset struct {
	Rows []Row
	IDs  []string // "PL-<suffix>", a fixed pseudo-random suffix per row that carries no meaning
}

// ReadFile parses an ARFF file of the dataset.
func ReadFile(path string) (*Dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open polish dataset: %w", err)
	}
	defer f.Close()
	d, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return d, nil
}

// Read parses the dataset in ARFF form: attribute lines, then "@data" and one comma-separated row
// per line with "?" for missing values and the class last.
func Read(r io.Reader) (*Dataset, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	var d Dataset
	inData := false
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "%") {
			continue
		}
		if !inData {
			if strings.EqualFold(t, "@data") {
				inData = true
			}
			continue
		}
		row, err := parseRow(t)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		d.Rows = append(d.Rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	if len(d.Rows) == 0 {
		return nil, fmt.Errorf("no data rows")
	}
	rng := rand.New(rand.NewPCG(20161, 58093))
	d.IDs = make([]string, len(d.Rows))
	for i := range d.IDs {
		d.IDs[i] = fmt.Sprintf("PL-%08x", rng.Uint32())
	}
	return &d, nil
}

func parseRow(t string) (Row, error) {
	var row Row
	fields := strings.Split(t, ",")
	if len(fields) != NumAttrs+1 {
		return row, fmt.Errorf("%d fields, want %d", len(fields), NumAttrs+1)
	}
	for i := 0; i < NumAttrs; i++ {
		f := strings.TrimSpace(fields[i])
		if f == "?" {
			row.Attr[i] = math.NaN()
			continue
		}
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return row, fmt.Errorf("attribute %d: %w", i+1, err)
		}
		row.Attr[i] = v
	}
	switch strings.TrimSpace(fields[NumAttrs]) {
	case "0":
	case "1":
		row.Bankrupt = true
	default:
		return row, fmt.Errorf("class %q, want 0 or 1", fields[NumAttrs])
	}
	return row, nil
}

// Requests rebuilds every row into a scoring request.
func (d *Dataset) Requests() []scoring.Request {
	reqs := make([]scoring.Request, len(d.Rows))
	for i := range d.Rows {
		reqs[i] = ToRequest(&d.Rows[i], d.IDs[i])
	}
	return reqs
}

// Labels returns 1 for the rows of firms that went bankrupt within five years, 0 otherwise.
func (d *Dataset) Labels() []float64 {
	y := make([]float64, len(d.Rows))
	for i := range d.Rows {
		if d.Rows[i].Bankrupt {
			y[i] = 1
		}
	}
	return y
}

// ToRequest rebuilds a row into the body of POST /v1/scores, the one mapping used to train and
// to judge the engine:
//
//	total_assets        = 1000 × 10^Attr29        (Attr29: log10 of total assets in thousands of PLN)
//	net_income          = Attr1 × total_assets
//	total_liabilities   = Attr2 × total_assets
//	current_liabilities = Attr51 × total_assets
//	current_assets      = Attr4 × current_liabilities
//	retained_earnings   = Attr6 × total_assets
//	ebit                = Attr7 × total_assets
//	revenue             = Attr9 × total_assets
//	equity              = Attr10 × total_assets
//	inventory           = Attr20 × revenue / 365
//	receivables         = Attr44 × revenue / 365
//	cash                = Attr40 × current_liabilities
//	interest_expense    = Attr22 × total_assets / Attr27   (absent when negative)
//	depreciation        = (Attr13 − Attr19) × revenue
//
// in one statement of 2011-12-31 in PLN, plus a 2010-12-31 statement holding only
// revenue / Attr21 when Attr21 (sales growth) is present and positive. A field whose inputs are
// missing or whose formula divides by zero or is not finite is absent. Every amount is computed
// from the unrounded values and then rounded to the nearest 1,000 PLN, the source's real
// precision: unrounded, the amounts would carry the stored ratios' rounding errors (about 1e-5 of
// total assets), which differ between bankrupt and other firms in this file, and a model that
// saw them would learn the file rather than the firms. Without Attr29 the request has no
// financials. The company is "PL-<suffix>", id_type "other", country PL, with nothing else.
func ToRequest(row *Row, id string) scoring.Request {
	suffix := strings.TrimPrefix(id, "PL-")
	req := scoring.Request{Company: scoring.Company{
		ID: id, IDType: "other", Name: "Polish company " + suffix, Country: "PL",
	}}
	a := row.A
	if math.IsNaN(a(29)) {
		return req
	}
	ta := 1000 * math.Pow(10, a(29))
	s := scoring.Statement{PeriodEnd: "2011-12-31", Currency: "PLN"}
	s.TotalAssets = finite(ta)
	s.NetIncome = finite(a(1) * ta)
	s.TotalLiabilities = finite(a(2) * ta)
	s.CurrentLiabilities = finite(a(51) * ta)
	s.CurrentAssets = times(a(4), s.CurrentLiabilities)
	s.RetainedEarnings = finite(a(6) * ta)
	s.EBIT = finite(a(7) * ta)
	s.Revenue = finite(a(9) * ta)
	s.Equity = finite(a(10) * ta)
	s.Inventory = times(a(20)/365, s.Revenue)
	s.Receivables = times(a(44)/365, s.Revenue)
	s.Cash = times(a(40), s.CurrentLiabilities)
	if a(27) != 0 {
		if v := finite(a(22) * ta / a(27)); v != nil && *v >= 0 {
			s.InterestExpense = v
		}
	}
	s.Depreciation = times(a(13)-a(19), s.Revenue)
	req.Financials = []scoring.Statement{s}
	if g := a(21); g > 0 {
		prev := scoring.Statement{PeriodEnd: "2010-12-31", Currency: "PLN"}
		if s.Revenue != nil {
			prev.Revenue = finite(*s.Revenue / g)
		}
		req.Financials = append(req.Financials, prev)
	}
	for i := range req.Financials {
		roundStatement(&req.Financials[i])
	}
	return req
}

// Precision is the unit every rebuilt amount is rounded to: the file's amounts are in thousands
// of PLN.
const Precision = 1000

// roundStatement rounds every present amount to the nearest Precision (no negative zero).
func roundStatement(s *scoring.Statement) {
	for _, p := range []*float64{s.TotalAssets, s.CurrentAssets, s.Cash, s.Receivables, s.Inventory,
		s.TotalLiabilities, s.CurrentLiabilities, s.Equity, s.RetainedEarnings, s.Revenue, s.EBIT,
		s.NetIncome, s.InterestExpense, s.Depreciation} {
		if p != nil {
			*p = math.Round(*p/Precision)*Precision + 0
		}
	}
}

// finite returns a pointer to v, or nil when v is NaN or infinite (a missing input propagates as
// NaN through the formulas).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func times(k float64, p *float64) *float64 {
	if p == nil {
		return nil
	}
	return finite(k * *p)
}
