package polish

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The first data row of 1year.arff, a firm that did not go bankrupt.
const firstRow = "0.20055,0.37951,0.39641,2.0472,32.351,0.38825,0.24976,1.3305,1.1389,0.50494,0.24976,0.6598,0.1666,0.24976,497.42,0.73378,2.6349,0.24976,0.14942,43.37,1.2479,0.21402,0.11998,0.47706,0.50494,0.60411,1.4582,1.7615,5.9443,0.11788,0.14942,94.14,3.8772,0.56393,0.21402,1.741,593.27,0.50591,0.12804,0.66295,0.051402,0.12804,114.42,71.05,1.0097,1.5225,49.394,0.1853,0.11085,2.042,0.37854,0.25792,2.2437,2.248,348690,0.12196,0.39718,0.87804,0.001924,8.416,5.1372,82.658,4.4158,7.4277,0"

func TestRowBecomesTheRequestTheReadmePrescribes(t *testing.T) {
	d, err := Read(strings.NewReader("@relation x\n@attribute a numeric\n@data\n" + firstRow + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := ToRequest(&d.Rows[0], d.IDs[0])
	ta := 1000 * math.Pow(10, 5.9443)
	s := req.Financials[0]
	checks := []struct {
		field string
		got   *float64
		want  float64
	}{
		{"total_assets", s.TotalAssets, ta},
		{"net_income", s.NetIncome, 0.20055 * ta},
		{"total_liabilities", s.TotalLiabilities, 0.37951 * ta},
		{"current_liabilities", s.CurrentLiabilities, 0.37854 * ta},
		{"current_assets", s.CurrentAssets, 2.0472 * 0.37854 * ta},
		{"retained_earnings", s.RetainedEarnings, 0.38825 * ta},
		{"ebit", s.EBIT, 0.24976 * ta},
		{"revenue", s.Revenue, 1.1389 * ta},
		{"equity", s.Equity, 0.50494 * ta},
		{"inventory", s.Inventory, 43.37 * 1.1389 * ta / 365},
		{"receivables", s.Receivables, 71.05 * 1.1389 * ta / 365},
		{"cash", s.Cash, 0.66295 * 0.37854 * ta},
		{"interest_expense", s.InterestExpense, 0.21402 * ta / 1.4582},
		{"depreciation", s.Depreciation, (0.1666 - 0.14942) * 1.1389 * ta},
	}
	for _, c := range checks {
		if c.got == nil || *c.got != math.Round(c.want/1000)*1000 {
			t.Errorf("%s = %v, want %v rounded to the nearest 1,000", c.field, c.got, c.want)
		}
	}
	if s.Currency != "PLN" || s.PeriodEnd != "2011-12-31" {
		t.Errorf("statement %s %s, want PLN 2011-12-31", s.Currency, s.PeriodEnd)
	}
	if len(req.Financials) != 2 || req.Financials[1].PeriodEnd != "2010-12-31" || req.Financials[1].TotalAssets != nil ||
		*req.Financials[1].Revenue != math.Round(1.1389*ta/1.2479/1000)*1000 {
		t.Errorf("financials[1] = %+v, want only revenue / Attr21 at 2010-12-31", req.Financials[1:])
	}
	c := req.Company
	if !strings.HasPrefix(c.ID, "PL-") || c.IDType != "other" || c.Country != "PL" || c.Name != "Polish company "+strings.TrimPrefix(c.ID, "PL-") {
		t.Errorf("company = %+v, want PL-<suffix>, other, PL, Polish company <suffix>", c)
	}
	if c.NACE != "" || c.LegalForm != "" || c.IncorporatedOn != "" || req.Bank != nil || req.Payments != nil || req.LegalEvents != nil || req.Request != nil {
		t.Errorf("request carries more than company and financials: %+v", req)
	}
	if err := req.Validate(); err != nil {
		t.Errorf("rebuilt request is invalid: %v", err)
	}
}

func TestMissingInputsLeaveFieldsAbsent(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *Row)
		absent []string
	}{
		{"no size, no financials", func(r *Row) { r.Attr[28] = math.NaN() }, nil},
		{"short-term liabilities missing", func(r *Row) { r.Attr[50] = math.NaN() }, []string{"current_liabilities", "current_assets", "cash"}},
		{"operating profit over financial expenses zero", func(r *Row) { r.Attr[26] = 0 }, []string{"interest_expense"}},
		{"negative interest", func(r *Row) { r.Attr[21] = -0.1 }, []string{"interest_expense"}},
		{"sales missing", func(r *Row) { r.Attr[8] = math.NaN() }, []string{"revenue", "inventory", "receivables", "depreciation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := Read(strings.NewReader("@data\n" + firstRow + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			tt.modify(&d.Rows[0])
			req := ToRequest(&d.Rows[0], d.IDs[0])
			if tt.absent == nil {
				if req.Financials != nil {
					t.Fatalf("financials = %+v, want none without Attr29", req.Financials)
				}
				return
			}
			s := req.Financials[0]
			fields := map[string]*float64{"current_liabilities": s.CurrentLiabilities, "current_assets": s.CurrentAssets,
				"cash": s.Cash, "interest_expense": s.InterestExpense, "revenue": s.Revenue, "inventory": s.Inventory,
				"receivables": s.Receivables, "depreciation": s.Depreciation}
			for _, f := range tt.absent {
				if fields[f] != nil {
					t.Errorf("%s = %v, want absent", f, *fields[f])
				}
			}
		})
	}
}

func TestReadRejectsMalformedRows(t *testing.T) {
	badClass := firstRow[:len(firstRow)-1] + "2"
	badNumber := strings.Replace(firstRow, "0.20055", "0.2o055", 1)
	for _, body := range []string{"@data\n1,2,3\n", "@data\n" + badClass + "\n", "@data\n" + badNumber + "\n", "@attribute a numeric\n"} {
		if _, err := Read(strings.NewReader(body)); err == nil {
			t.Errorf("Read(%.40q…) = nil error, want one", body)
		}
	}
}

func TestTheShippedFileHasTheDocumentedShape(t *testing.T) {
	d, err := ReadFile(filepath.Join("testdata", "1year.arff"))
	if err != nil {
		t.Fatal(err)
	}
	bankrupt := 0
	for _, r := range d.Rows {
		if r.Bankrupt {
			bankrupt++
		}
	}
	if len(d.Rows) != 7027 || bankrupt != 271 {
		t.Errorf("%d rows, %d bankrupt; want 7027 and 271", len(d.Rows), bankrupt)
	}
	seen := map[string]bool{}
	for _, id := range d.IDs {
		if seen[id] {
			t.Fatalf("company id %s repeats", id)
		}
		seen[id] = true
	}
}
