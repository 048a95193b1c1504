package scoring

import (
	"math"
	"time"
)

// Reason codes of the expert and data-quality terms. Statement features carry the codes of
// Features. A code never changes meaning within a model version.
const (
	codePayDaysBeyondTerms        = "PAY_DAYS_BEYOND_TERMS"
	codePayIncidents              = "PAY_INCIDENTS"
	codePayLateRatio              = "PAY_LATE_RATIO"
	codeBankNegativeBalance       = "BANK_NEGATIVE_BALANCE"
	codeBankNetFlow               = "BANK_NET_FLOW"
	codeBankFlowTrend             = "BANK_FLOW_TREND"
	codeBankVolatility            = "BANK_VOLATILITY"
	codeCompanyAge                = "CO_AGE"
	codeCompanyLegalForm          = "CO_LEGAL_FORM"
	codeCompanySector             = "CO_SECTOR"
	codeLegalCollectiveProceeding = "LEGAL_COLLECTIVE_PROCEEDING"
	codeLegalPastProceeding       = "LEGAL_PAST_PROCEEDING"
	codeLegalPaymentIncident      = "LEGAL_PAYMENT_INCIDENT"
	codeLegalCourtJudgment        = "LEGAL_COURT_JUDGMENT"
	codeLegalTaxLien              = "LEGAL_TAX_LIEN"
	codeConsecutiveLosses         = "FIN_CONSECUTIVE_LOSSES"
	codeLosses                    = "FIN_LOSSES"
	codeNoFinancials              = "DQ_NO_FINANCIALS"
	codeStaleStatements           = "DQ_STALE_STATEMENTS"
)

// term is one additive contribution to the 12-month log-odds of default.
type term struct {
	code    string
	logOdds float64
}

const maxTerms = int(NumFeatures) + 24

// missingFeatureField names each statement feature in data-quality items.
var missingFeatureField = func() (f [NumFeatures]string) {
	for i, info := range Features {
		f[i] = "financials." + info.Name
	}
	return f
}()

// evaluation collects the terms of one request.
type evaluation struct {
	req   *Request
	asOf  time.Time
	lang  language
	rules int // the model's rules generation

	base  float64
	terms [maxTerms]term
	n     int

	openProceeding bool
	recentIncident bool

	latest     int // index of the latest statement, −1 without statements
	x          FeatureVector
	staleYears float64
	assetTerms float64 // rules 2: the log-odds of the ratios to total assets

	present, expected int // inputs present and expected, for completeness
	missing           []QualityItem
	stale             []QualityItem
	inconsistent      []QualityItem
}

func (ev *evaluation) add(code string, logOdds float64) {
	if ev.n < maxTerms {
		ev.terms[ev.n] = term{code, logOdds}
		ev.n++
	}
}

// addTo adds to an existing term, or appends it.
func (ev *evaluation) addTo(code string, logOdds float64) {
	for i := 0; i < ev.n; i++ {
		if ev.terms[i].code == code {
			ev.terms[i].logOdds += logOdds
			return
		}
	}
	ev.add(code, logOdds)
}

func (ev *evaluation) expect(present bool) {
	ev.expected++
	if present {
		ev.present++
	}
}

func (ev *evaluation) days(date string) (float64, bool) {
	t, ok := parseDate(date)
	if !ok {
		return 0, false
	}
	return ev.asOf.Sub(t).Hours() / 24, true
}

// statements adds the statement model's terms: one per feature, then the expert statement terms
// (consecutive losses) and the staleness penalty. Without any statement the model has nothing to
// read: the statement module is replaced by the population's default rate (the training rate,
// which the horizon shift maps to BaseRate12m) plus a documented uncertainty margin,
// noFinancialsMargin, so that having nothing is always worse than an average file.
func (ev *evaluation) statements(m *Model) {
	fin := ev.req.Financials
	ev.base = m.Intercept
	ev.x = StatementFeatures(fin)
	ev.latest, _ = latestTwo(fin)
	if ev.latest < 0 {
		for j := range m.Shapes {
			ev.add(Features[j].Code, 0)
			ev.expect(false)
		}
		t := logit(m.TrainingBaseRate) - m.Intercept + noFinancialsMargin
		ev.add(codeNoFinancials, t)
		ev.missing = append(ev.missing, QualityItem{
			Field:        "financials",
			Message:      "no financial statement: the statement module is set to the population default rate plus an uncertainty margin of 0.5 log-odds; without a statement the engine never accepts outright",
			ImpactPoints: points(t),
		})
		return
	}
	for j := range m.Shapes {
		c := m.Shapes[j].Contribution(ev.x[j])
		ev.add(Features[j].Code, c)
		present := !math.IsNaN(ev.x[j])
		ev.expect(present)
		if !present {
			ev.missing = append(ev.missing, QualityItem{
				Field:        missingFeatureField[j],
				Message:      "not computable from the latest statement (a figure is absent or a denominator is not positive); scored as missing, never better than the average firm",
				ImpactPoints: points(c),
			})
		}
	}
	cur, prev := latestTwo(fin)
	s := &fin[cur]
	if _, ok := eurRates[s.Currency]; !ok {
		ev.missing = append(ev.missing, QualityItem{
			Field:   "financials[" + itoa(cur) + "].currency",
			Message: "no reference rate for this currency in " + RatesVersion + ": size features scored as missing",
		})
	}
	if prev >= 0 && s.NetIncome != nil && fin[prev].NetIncome != nil && *s.NetIncome < 0 && *fin[prev].NetIncome < 0 {
		ev.add(codeConsecutiveLosses, consecutiveLosses)
	}
	ev.stalenessOf(s, cur)
	ev.checkConsistency(s, cur)
}

// checkConsistency reports statements that do not add up. They are scored as reported; the
// balance gap is itself a model feature, so its cost is its contribution.
func (ev *evaluation) checkConsistency(s *Statement, i int) {
	f := figuresOf(s)
	p := "financials[" + itoa(i) + "]"
	add := func(field, msg string, impact int) {
		ev.inconsistent = append(ev.inconsistent, QualityItem{Field: p + field, Message: msg, ImpactPoints: impact})
	}
	if g := ev.x[FBalanceGap]; g > 0.01 {
		add(".equity", "total assets differ from total liabilities plus equity by more than 1%; scored as reported", points(ev.terms[FBalanceGap].logOdds))
	}
	if f.ta <= 0 {
		add(".total_assets", "total assets are not positive; ratios to assets scored as missing", 0)
	}
	if f.cash < 0 {
		add(".cash", "cash is negative; scored as reported", 0)
	}
	if f.ca > f.ta*1.0001 {
		add(".current_assets", "current assets exceed total assets; scored as reported", 0)
	}
	if f.inv > f.ca*1.0001 {
		add(".inventory", "inventory exceeds current assets; scored as reported", 0)
	}
	if f.cl > f.tl*1.0001 {
		add(".current_liabilities", "current liabilities exceed total liabilities; scored as reported", 0)
	}
	if f.rev < 0 {
		add(".revenue", "revenue is negative; scored as reported", 0)
	}
}

// payments adds the payment-behaviour terms.
func (ev *evaluation) payments() {
	p := ev.req.Payments
	ev.expect(p != nil)
	if p == nil {
		ev.missing = append(ev.missing, QualityItem{Field: "payments", Message: "no payment history: behaviour terms at their reference value 0"})
		return
	}
	if p.DaysBeyondTermsAvg != nil {
		ev.add(codePayDaysBeyondTerms, curve(daysBeyondTermsCurve, *p.DaysBeyondTermsAvg))
	}
	if p.Incidents12m != nil {
		ev.add(codePayIncidents, curve(incidentsCurve, float64(*p.Incidents12m)))
	}
	if p.LateInvoiceRatio != nil {
		ev.add(codePayLateRatio, curve(lateRatioCurve, *p.LateInvoiceRatio))
	}
}

// bank adds the bank-flow terms from at least minBankMonths months, the latest within a year of
// the evaluation date.
func (ev *evaluation) bank() {
	b := ev.req.Bank
	ev.expect(b != nil && len(b.Months) >= minBankMonths)
	if b == nil || len(b.Months) == 0 {
		ev.missing = append(ev.missing, QualityItem{Field: "bank", Message: "no bank months: bank terms at their reference value 0"})
		return
	}
	if len(b.Months) < minBankMonths {
		ev.missing = append(ev.missing, QualityItem{Field: "bank.months", Message: "fewer than 3 months: too short to use; bank terms at 0"})
		return
	}
	var order [MaxBankMonths]int
	n := len(b.Months)
	for i := 0; i < n; i++ {
		order[i] = i
	}
	for i := 1; i < n; i++ { // insertion sort by month: few months, no allocation
		for k := i; k > 0 && b.Months[order[k]].Month < b.Months[order[k-1]].Month; k-- {
			order[k], order[k-1] = order[k-1], order[k]
		}
	}
	last, ok := parseMonth(b.Months[order[n-1]].Month)
	if ok && ev.asOf.Sub(last) > 395*24*time.Hour {
		ev.stale = append(ev.stale, QualityItem{Field: "bank.months", Message: "latest bank month is more than a year old: bank terms not used"})
		return
	}
	var negatives, withBalance int
	var sumIn, sumOut, sumIn2 float64
	var flows int
	var st, sn, stt, stn float64 // regression of net flow on month index
	for k := 0; k < n; k++ {
		m := &b.Months[order[k]]
		bal := m.MinBalance
		if bal == nil {
			bal = m.EndBalance
		}
		if bal != nil {
			withBalance++
			if *bal < 0 {
				negatives++
			}
		}
		if m.Inflows != nil && m.Outflows != nil {
			in, out := *m.Inflows, *m.Outflows
			net, t := in-out, float64(k)
			sumIn += in
			sumIn2 += in * in
			sumOut += out
			st += t
			sn += net
			stt += t * t
			stn += t * net
			flows++
		}
	}
	if withBalance > 0 {
		ev.add(codeBankNegativeBalance, curve(negativeMonthsCurve, float64(negatives)/float64(withBalance)))
	}
	if flows >= minBankMonths {
		fn := float64(flows)
		meanIn := sumIn / fn
		if sumIn > 0 {
			ev.add(codeBankNetFlow, curve(netFlowCurve, (sumIn-sumOut)/sumIn))
			if den := fn*stt - st*st; den > 0 {
				slope := (fn*stn - st*sn) / den
				ev.add(codeBankFlowTrend, curve(flowTrendCurve, slope*12/meanIn))
			}
			sd := math.Sqrt(math.Max(sumIn2/fn-meanIn*meanIn, 0))
			ev.add(codeBankVolatility, curve(volatilityCurve, sd/meanIn))
		} else if sumOut > 0 {
			ev.add(codeBankNetFlow, curve(netFlowCurve, -1))
		}
	}
}

// incorporatedAfterStatements flags a statement whose period ended before the company was
// incorporated: one of the two dates is wrong. The age is still read from the incorporation
// date, the younger and so riskier reading, which a later date can only make worse.
func (ev *evaluation) incorporatedAfterStatements(incorporatedOn string) {
	// Validated dates are YYYY-MM-DD: their order is their text's.
	for i := range ev.req.Financials {
		if end := ev.req.Financials[i].PeriodEnd; end < incorporatedOn {
			ev.inconsistent = append(ev.inconsistent, QualityItem{Field: "company.incorporated_on",
				Message: "after the end of the period of financials[" + itoa(i) + "] (" + end + "): one of the dates is wrong; the age is read from the incorporation date, the riskier reading"})
			return
		}
	}
}

// company adds the terms of the company's age, legal form and sector.
func (ev *evaluation) company() {
	c := &ev.req.Company
	ev.expect(c.IncorporatedOn != "")
	if c.IncorporatedOn == "" {
		ev.missing = append(ev.missing, QualityItem{Field: "company.incorporated_on", Message: "age unknown: age term at its reference value 0"})
	} else if d, ok := ev.days(c.IncorporatedOn); ok {
		if d < 0 {
			ev.inconsistent = append(ev.inconsistent, QualityItem{Field: "company.incorporated_on", Message: "incorporated after the evaluation date; scored as a new company"})
			d = 0
		}
		if ev.rules >= 2 {
			ev.incorporatedAfterStatements(c.IncorporatedOn)
		}
		ev.add(codeCompanyAge, curve(ageCurve, d/365.25))
	}
	ev.expect(c.LegalForm != "")
	if c.LegalForm == "" {
		ev.missing = append(ev.missing, QualityItem{Field: "company.legal_form", Message: "legal form unknown: no legal-form term"})
	} else if t, ok := legalFormTerm(c.LegalForm); ok {
		ev.add(codeCompanyLegalForm, t)
	} else {
		ev.missing = append(ev.missing, QualityItem{Field: "company.legal_form", Message: "legal form not recognised: no legal-form term"})
	}
	ev.expect(c.NACE != "")
	if c.NACE == "" {
		ev.missing = append(ev.missing, QualityItem{Field: "company.nace", Message: "sector unknown: no sector term"})
	} else if div, ok := naceDivision(c.NACE); ok {
		ev.add(codeCompanySector, sectorTerm(naceSection(div)))
	}
}

// legal adds the terms of registry events dated on or before the evaluation date.
func (ev *evaluation) legal() {
	var pastProceeding, judgments, liens float64
	var recentIncidents, oldIncidents int
	for i := range ev.req.LegalEvents {
		e := &ev.req.LegalEvents[i]
		d, ok := ev.days(e.Date)
		if !ok {
			continue
		}
		if d < 0 {
			if ev.rules < 2 {
				ev.inconsistent = append(ev.inconsistent, QualityItem{Field: "legal_events[" + itoa(i) + "].date", Message: "event dated after the evaluation date; ignored"})
				continue
			}
			// Rules 2: a registry event cannot be dated in the future; it counts as of today.
			ev.inconsistent = append(ev.inconsistent, QualityItem{Field: "legal_events[" + itoa(i) + "].date", Message: "event dated after the evaluation date: counted as of the evaluation date"})
			d = 0
		}
		switch e.Type {
		case EventCollectiveProceeding:
			ended, endOK := ev.days(e.EndedOn)
			if ev.rules >= 2 && e.EndedOn != "" && endOK && ended > d {
				// Rules 2: a proceeding cannot end before it opens; read it as still open.
				ev.inconsistent = append(ev.inconsistent, QualityItem{Field: "legal_events[" + itoa(i) + "].ended_on", Message: "ends before the proceeding's date: read as still open"})
				ev.openProceeding = true
				continue
			}
			if e.EndedOn == "" || !endOK || ended < 0 {
				ev.openProceeding = true
				continue
			}
			if ended <= 5*365.25 {
				pastProceeding = math.Max(pastProceeding, pastProceedingRecent)
			} else {
				pastProceeding = math.Max(pastProceeding, pastProceedingOld)
			}
		case EventPaymentIncident:
			switch {
			case d <= 365:
				recentIncidents++
			case d <= 3*365:
				oldIncidents++
			}
		case EventCourtJudgment:
			if d <= 2*365 {
				judgments += judgmentEach
			}
		case EventTaxLien:
			if d <= 2*365 {
				liens += taxLienEach
			}
		default:
			ev.inconsistent = append(ev.inconsistent, QualityItem{Field: "legal_events[" + itoa(i) + "].type", Message: "event type not known to this model version; ignored"})
		}
	}
	if pastProceeding > 0 {
		ev.add(codeLegalPastProceeding, pastProceeding)
	}
	if recentIncidents+oldIncidents > 0 {
		t := 0.0
		if recentIncidents > 0 {
			t = math.Min(incidentFirst+incidentNext*float64(recentIncidents-1), incidentCap)
			ev.recentIncident = true
		}
		t += math.Min(incidentOld*float64(oldIncidents), 2*incidentOld)
		ev.add(codeLegalPaymentIncident, t)
	}
	if judgments > 0 {
		ev.add(codeLegalCourtJudgment, math.Min(judgments, judgmentCap))
	}
	if liens > 0 {
		ev.add(codeLegalTaxLien, math.Min(liens, taxLienCap))
	}
}

// itoa formats a small non-negative index without allocating for 0–9.
func itoa(i int) string {
	const digits = "0123456789"
	if i >= 0 && i < 10 {
		return digits[i : i+1]
	}
	var b [20]byte
	n := len(b)
	for i > 0 || n == len(b) {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}
