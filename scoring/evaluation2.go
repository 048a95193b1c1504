package scoring

import (
	"math"
	"slices"
)

// boundField names the statement field a plausibility bound is reported on.
var boundField = [NumFeatures]string{
	FCashToFunding: "cash", FEBITMargin: "ebit", FNetMargin: "net_income", FEBITDAMargin: "ebit",
	FRetainedToNonCashFunding: "retained_earnings",
}

// assetRatios are the rules-2 features that divide by total assets (or are their size).
var assetRatios = []Feature{FLeveragePrudent, FCurrentLiabToAssets, FInterestBurden, FSizeAssets}

// statementsRules2 adds the statement terms of a rules-2 model. Every shape's contribution is
// scaled by the calibration slope and reported under its group's code. A missing or implausible
// feature takes its missing value, which is never better than its riskiest bin; with no
// statement at all every feature is missing and the staleness term is at its cap, so that
// withholding every statement never earns a better answer than sending one.
func (ev *evaluation) statementsRules2(e *Engine) {
	m := e.model
	// A statement whose period ends after the evaluation date cannot have been filed: none of its
	// figures is read (an old statement relabelled as a future one must not pose as the latest).
	fin := ev.req.Financials
	var kept [MaxStatements]Statement
	future := false
	for i := range fin {
		if d, ok := ev.days(fin[i].PeriodEnd); ok && d < 0 {
			if !future {
				copy(kept[:], fin) // copied only when a statement must change
				future = true
			}
			// Kept in its place, but without a figure: its date is not true, so none of its
			// figures can be trusted, and it is read at the worst staleness (stalenessOf).
			kept[i] = Statement{PeriodEnd: fin[i].PeriodEnd, Currency: fin[i].Currency}
			ev.inconsistent = append(ev.inconsistent, QualityItem{
				Field: "financials[" + itoa(i) + "].period_end", Message: "period ends after the evaluation date: none of this statement's figures is read, and it counts as stale",
			})
		}
	}
	if future {
		fin = kept[:len(fin)]
	}
	ev.x = prudentFeatures(fin)
	cur, _ := latestTwo(fin)
	var bounds, revenue uint64
	if cur >= 0 {
		bounds, revenue = implausible(&ev.x, sanitized(figuresOf(&fin[cur])))
	}
	ev.latest = cur // kept statements stay in their places
	var noStatement float64
	for i := range m.Shapes {
		s := &m.Shapes[i]
		f := m.index[i]
		t := e.slope * s.Contribution(ev.x[f])
		if cur >= 0 {
			ev.addTo(s.Group, t)
		}
		if slices.Contains(assetRatios, f) {
			ev.assetTerms += t
		}
		present := !math.IsNaN(ev.x[f])
		ev.expect(present)
		switch {
		case cur < 0:
			noStatement += t
		case revenue&(1<<f) != 0:
			ev.inconsistent = append(ev.inconsistent, QualityItem{
				Field:        "financials[" + itoa(ev.latest) + "].revenue",
				Message:      s.Feature + " scored as missing, as risky as the riskiest firms: revenue is below 1% of total liabilities plus equity less cash (or those are absent), so it is probably in another unit than the other figures",
				ImpactPoints: points(t),
			})
		case bounds&(1<<f) != 0:
			ev.inconsistent = append(ev.inconsistent, QualityItem{
				Field:        "financials[" + itoa(ev.latest) + "]." + boundField[f],
				Message:      plausible[f].why + ", which no sound statement shows (often a figure in the wrong unit): " + s.Feature + " scored as missing, as risky as the riskiest firms",
				ImpactPoints: points(t),
			})
		case !present:
			ev.missing = append(ev.missing, QualityItem{
				Field:        missingFeatureField[f],
				Message:      "not computable from the latest statement (a figure is absent or a denominator is not positive): scored as missing, as risky as the riskiest firms",
				ImpactPoints: points(t),
			})
		}
	}
	if loss := e.slope * LossTerm(fin); loss > 0 {
		ev.add(codeLosses, loss)
	}
	if cur < 0 {
		// One term carries the whole statement module of a request without statements.
		ev.add(codeNoFinancials, noStatement+staleCap)
		ev.missing = append(ev.missing, QualityItem{
			Field:        "financials",
			Message:      "no financial statement: every statement feature scored as missing and the statements' age at its worst; without a statement the engine never accepts outright",
			ImpactPoints: points(noStatement + staleCap),
		})
		return
	}
	s := &fin[cur]
	if _, ok := eurRates[s.Currency]; !ok {
		ev.missing = append(ev.missing, QualityItem{
			Field:   "financials[" + itoa(ev.latest) + "].currency",
			Message: "no reference rate for this currency in " + RatesVersion + ": size features scored as missing",
		})
	}
	ev.stalenessOf(s, ev.latest)
	ev.reportConsistency(s, ev.latest)
}

// stalenessOf adds the staleness term of the latest statement.
func (ev *evaluation) stalenessOf(s *Statement, cur int) {
	d, ok := ev.days(s.PeriodEnd)
	if !ok {
		return
	}
	ev.staleYears = d / 365.25
	if d < 0 && ev.rules >= 2 {
		// Rules 2: a statement dated after the evaluation date is read at the worst staleness.
		ev.add(codeStaleStatements, staleCap)
		ev.stale = append(ev.stale, QualityItem{
			Field:        "financials[" + itoa(cur) + "].period_end",
			Message:      "the latest statement is dated after the evaluation date: counted at the worst staleness, 0.40",
			ImpactPoints: points(staleCap),
		})
		return
	}
	if d < 0 {
		ev.inconsistent = append(ev.inconsistent, QualityItem{
			Field: "financials[" + itoa(cur) + "].period_end", Message: "period ends after the evaluation date; scored as reported",
		})
	}
	if over := ev.staleYears - 1.5; over > 0 {
		t := math.Min(stalePerYear*over, staleCap)
		ev.add(codeStaleStatements, t)
		ev.stale = append(ev.stale, QualityItem{
			Field:        "financials[" + itoa(cur) + "].period_end",
			Message:      "latest statement is more than 18 months old; 0.10 log-odds per year beyond, at most 0.40",
			ImpactPoints: points(t),
		})
	}
}

// reportConsistency reports, for rules 2, a statement whose parts do not add up. Leverage and
// the equity ratio are always read prudently (the riskier of the reported figures and those
// implied by the balance), so a gap can only cost; implausible ratios were already scored as
// missing; the rest is reported as it is.
func (ev *evaluation) reportConsistency(s *Statement, i int) {
	f := figuresOf(s)
	p := "financials[" + itoa(i) + "]"
	add := func(field, msg string) {
		ev.inconsistent = append(ev.inconsistent, QualityItem{Field: p + field, Message: msg})
	}
	if gap := math.Abs(f.ta-f.tl-f.eq) / f.ta; gap > 0.01 {
		add(".equity", "total assets differ from total liabilities plus equity by "+percent(gap)+": leverage read prudently, liabilities over the smaller of the two totals")
	}
	if f.ta <= 0 {
		add(".total_assets", "total assets are not positive: ratios to assets scored as missing")
	}
	largest := math.Max(math.Max(orZero(f.ca), orZero(f.tl)), math.Max(orZero(f.eq), orZero(f.cl)))
	if f.ta > 0 && (largest > 100*f.ta || orZero(f.ca) > 2*f.ta || orZero(f.cash) > 2*f.ta) {
		ev.inconsistent = append(ev.inconsistent, QualityItem{Field: p + ".total_assets",
			Message:      "total assets are less than half the current assets or cash, or a hundredth of another balance-sheet figure: probably typed in another unit; the ratios to total assets (leverage, short-term debt, interest, size) can only cost for it, and this is what they cost",
			ImpactPoints: points(ev.assetTerms)})
	}
	if f.cash < 0 {
		add(".cash", "cash is negative; scored as reported")
	}
	if f.ca > f.ta*1.01 {
		add(".current_assets", "current assets exceed total assets")
	}
	if f.inv > f.ca*1.01 {
		add(".inventory", "inventory exceeds current assets")
	}
	if f.rec > f.ca*1.01 {
		add(".receivables", "receivables exceed current assets")
	}
	if f.cl > f.tl*1.01 {
		add(".current_liabilities", "current liabilities exceed total liabilities")
	}
	if f.rev < 0 {
		add(".revenue", "revenue is negative: ratios to revenue scored as missing")
	}
}

// percent formats a share as a whole percentage ("12%"), capped at "over 999%".
func percent(x float64) string {
	if x > 9.99 {
		return "over 999%"
	}
	return itoa(int(math.Round(100*x))) + "%"
}
