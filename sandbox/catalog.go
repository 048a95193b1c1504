package sandbox

import "github.com/rocketfin/rocketfin/scoring"

const (
	fy2025 = "2025-12-31"
	fy2024 = "2024-12-31"
)

// sound is the accounts of a sound mid-sized firm, scaled by size (total assets in EUR).
func sound(size float64) accounts {
	return accounts{
		ta: size, ca: 0.55 * size, cash: 0.12 * size, rec: 0.25 * size, inv: 0.15 * size,
		tl: 0.45 * size, cl: 0.30 * size, re: 0.30 * size, rev: 1.6 * size, ebit: 0.10 * size,
		ni: 0.065 * size, interest: 0.03 * size, dep: 0.05 * size,
	}
}

// strained is the accounts of a firm with thin margins, high leverage and little cash.
func strained(size float64) accounts {
	return accounts{
		ta: size, ca: 0.50 * size, cash: 0.02 * size, rec: 0.30 * size, inv: 0.15 * size,
		tl: 0.85 * size, cl: 0.62 * size, re: 0.02 * size, rev: 1.3 * size, ebit: 0.01 * size,
		ni: -0.01 * size, interest: 0.02 * size, dep: 0.02 * size,
	}
}

// distressed is the accounts of a firm losing money with negative equity.
func distressed(size float64) accounts {
	return accounts{
		ta: size, ca: 0.45 * size, cash: 0.005 * size, rec: 0.30 * size, inv: 0.12 * size,
		tl: 1.25 * size, cl: 0.95 * size, re: -0.45 * size, rev: 0.9 * size, ebit: -0.15 * size,
		ni: -0.2 * size, interest: 0.005 * size, dep: 0.01 * size,
	}
}

func twoYears(cur accounts, growth, lastYearIncome float64) []scoring.Statement {
	return []scoring.Statement{cur.statement(fy2025, "EUR"), cur.grow(growth, lastYearIncome).statement(fy2024, "EUR")}
}

var catalog = []entry{
	{Company{"999000011", "Atelier Lumière SAS", "62.01", scoring.Accept,
		"Software publisher, 17 years old, profitable and growing; complete file. The reference good case."},
		func() scoring.Request {
			a := sound(4.2e6)
			return scoring.Request{Company: company("SAS", "2009-02-16"), Financials: twoYears(a, 1.12, 0.05*4.2e6),
				Bank: months(12, 560000, 0.004, 0.96, 120000, 2000), Payments: payments(1, 0, 0.04), Request: credit(60000, 60)}
		}},
	{Company{"999000029", "Boulangeries Dupain SARL", "10.71", scoring.Accept,
		"Family bakery chain, 31 years old, steady; pays suppliers on time."},
		func() scoring.Request {
			a := sound(1.8e6)
			a.inv, a.rec, a.rev = 0.05*1.8e6, 0.04*1.8e6, 2.4*1.8e6
			return scoring.Request{Company: company("SARL", "1995-09-01"), Financials: twoYears(a, 1.03, 0.06*1.8e6),
				Bank: months(12, 360000, 0, 0.97, 60000, 0), Payments: payments(0, 0, 0.02), Request: credit(15000, 30)}
		}},
	{Company{"999000037", "Transports Horizon SA", "49.41", scoring.Accept,
		"Road haulier, public limited company, large fleet financed by leases; no credit amount asked, so the limit is what it supports."},
		func() scoring.Request {
			a := sound(2.6e7)
			a.dep, a.interest = 0.09*2.6e7, 0.04*2.6e7
			return scoring.Request{Company: company("SA", "1988-04-12"), Financials: twoYears(a, 1.05, 0.06*2.6e7),
				Payments: payments(3, 0, 0.06), Request: &scoring.CreditRequest{TermsDays: intp(45)}}
		}},
	{Company{"999000045", "Clinique du Parc SAS", "86.10", scoring.Accept,
		"Private clinic; health is among the sectors that fail least."},
		func() scoring.Request {
			a := sound(9.5e6)
			return scoring.Request{Company: company("SAS", "2001-06-30"), Financials: twoYears(a, 1.04, 0.06*9.5e6),
				Bank: months(12, 1.2e6, 0.002, 0.97, 300000, 0), Payments: payments(0, 0, 0.01), Request: credit(120000, 60)}
		}},
	{Company{"999000052", "Énergie Verte SCOP", "35.11", scoring.Accept,
		"Cooperative running solar farms: heavy assets, long-term debt, regular income."},
		func() scoring.Request {
			a := sound(1.5e7)
			a.tl, a.cl, a.rev, a.dep, a.interest = 0.6*1.5e7, 0.12*1.5e7, 0.35*1.5e7, 0.08*1.5e7, 0.035*1.5e7
			a.ebit, a.ni = 0.07*1.5e7, 0.04*1.5e7
			return scoring.Request{Company: company("SCOP", "2012-01-20"), Financials: twoYears(a, 1.02, 0.035*1.5e7),
				Payments: payments(0, 0, 0), Request: credit(40000, 30)}
		}},
	{Company{"999000060", "Librairie des Quais SARL", "47.61", scoring.Accept,
		"Small bookshop, 22 years old, modest but sound; a small credit line."},
		func() scoring.Request {
			a := sound(6.5e5)
			a.inv, a.rec = 0.3*6.5e5, 0.05*6.5e5
			return scoring.Request{Company: company("SARL", "2004-03-03"), Financials: twoYears(a, 1.01, 0.05*6.5e5),
				Bank: months(6, 85000, 0, 0.98, 15000, 0), Payments: payments(2, 0, 0.05), Request: credit(5000, 30)}
		}},
	{Company{"999000078", "Quincaillerie Martin SAS", "46.74", scoring.Accept,
		"Hardware wholesaler with a full file, including a court judgment it settled three years ago (too old to count)."},
		func() scoring.Request {
			a := sound(3.3e6)
			r := scoring.Request{Company: company("SAS", "1999-11-05"), Financials: twoYears(a, 1.06, 0.06*3.3e6),
				Bank: months(12, 450000, 0.003, 0.97, 50000, 1000), Payments: payments(4, 0, 0.08), Request: credit(35000, 45)}
			r.LegalEvents = []scoring.LegalEvent{{Type: scoring.EventCourtJudgment, Date: "2023-05-10"}}
			return r
		}},
	{Company{"999000086", "Yamato Trading France SAS", "46.90", scoring.Accept,
		"Subsidiary reporting in Japanese yen and asking for yen: amounts in JPY, a limit in whole yen."},
		func() scoring.Request {
			a := sound(6.0e8)
			st := []scoring.Statement{a.statement(fy2025, "JPY"), a.grow(1.05, 0.06*6e8).statement(fy2024, "JPY")}
			return scoring.Request{Company: company("SAS", "2007-07-07"), Financials: st, Payments: payments(0, 0, 0.03),
				Request: &scoring.CreditRequest{Amount: amount(4e6), Currency: "JPY", TermsDays: intp(60)}}
		}},
	{Company{"999000094", "Grands Projets Industries SA", "28.29", scoring.RequestGuarantees,
		"Sound machine builder asking for far more credit than its balance sheet supports: the engine grants a lower limit and asks for guarantees."},
		func() scoring.Request {
			a := sound(5.0e6)
			return scoring.Request{Company: company("SA", "1979-01-15"), Financials: twoYears(a, 1.04, 0.06*5e6),
				Payments: payments(1, 0, 0.03), Request: credit(2.5e6, 90)}
		}},
	{Company{"999000102", "Constructa BTP SAS", "41.20", scoring.RequestGuarantees,
		"Builder with thin margins and high leverage in the sector that fails most: the middle PD band."},
		func() scoring.Request {
			a := strained(3.0e6)
			return scoring.Request{Company: company("SAS", "2014-09-01"), Financials: twoYears(a, 1.10, 0.004*3e6),
				Bank: months(12, 320000, 0, 1.0, 10000, -1500), Payments: payments(12, 0, 0.2), Request: credit(40000, 60)}
		}},
	{Company{"999000110", "Nova Robotique SAS", "72.19", scoring.Decline,
		"Thin-file start-up incorporated eight months ago: no statement yet, four bank months. Without a statement the engine cannot tell a firm from the riskiest it has seen, so it declines whatever the bank months say; data_quality says why."},
		func() scoring.Request {
			return scoring.Request{Company: company("SAS", "2025-10-28"), Bank: months(4, 45000, 0.08, 0.9, 30000, -2000),
				Request: credit(10000, 30)}
		}},
	{Company{"999000128", "Restaurant Le Gourmet SARL", "56.10", scoring.RequestGuarantees,
		"Restaurant with a formal payment incident registered three months ago: its PD is floored at 1.21% (grade R4 or worse) and it pays late."},
		func() scoring.Request {
			a := sound(9.0e5)
			a.inv, a.rec, a.rev = 0.03*9e5, 0.02*9e5, 2.2*9e5
			r := scoring.Request{Company: company("SARL", "2016-05-14"), Financials: twoYears(a, 0.97, 0.02*9e5),
				Bank: months(12, 160000, -0.004, 1.0, 5000, -800), Payments: payments(18, 1, 0.3), Request: credit(8000, 30)}
			r.LegalEvents = []scoring.LegalEvent{{Type: scoring.EventPaymentIncident, Date: "2026-03-24"}}
			return r
		}},
	{Company{"999000136", "Textiles Anciens SA", "13.20", scoring.RequestGuarantees,
		"Weaver whose latest statement is from 2019, with losses in its last two years: stale data cost points and are reported in data_quality."},
		func() scoring.Request {
			a := strained(7.0e6)
			a.ebit, a.ni = 0.005*7e6, -0.01*7e6
			st := []scoring.Statement{a.statement("2019-12-31", "EUR"), a.grow(1.02, -0.005*7e6).statement("2018-12-31", "EUR")}
			return scoring.Request{Company: company("SA", "1962-03-01"), Financials: st, Request: credit(50000, 60)}
		}},
	{Company{"999000144", "Jean Dufour Électricité EI", "43.21", scoring.RequestGuarantees,
		"Sole trader electrician: unlimited liability, small and young. (Scoring a sole trader needs the person's consent.)"},
		func() scoring.Request {
			a := strained(1.2e5)
			a.rev, a.ebit, a.ni = 2.0*1.2e5, 0.05*1.2e5, 0.03*1.2e5
			return scoring.Request{Company: company("EI", "2022-04-01"), Financials: twoYears(a, 1.15, 0.02*1.2e5),
				Bank: months(12, 20000, 0.005, 0.98, 2000, 0), Payments: payments(6, 0, 0.1), Request: credit(3000, 30)}
		}},
	{Company{"999000151", "Données Partielles SAS", "70.22", scoring.RequestGuarantees,
		"Consultancy that sent a partial statement (no interest, inventory, receivables, retained earnings or prior year): each missing figure is scored like the riskiest value the model knows, which takes a sound firm to the edge of a decline; data_quality lists what is missing."},
		func() scoring.Request {
			a := sound(1.1e6)
			a.interest, a.inv, a.rec, a.re, a.dep = absent, absent, absent, absent, absent
			a.ebit, a.ni, a.cash, a.tl, a.cl = 0.03*1.1e6, 0.015*1.1e6, 0.03*1.1e6, 0.65*1.1e6, 0.45*1.1e6
			return scoring.Request{Company: company("SAS", "2018-10-10"), Financials: []scoring.Statement{a.statement(fy2025, "EUR")},
				Request: credit(20000, 30)}
		}},
	{Company{"999000169", "Faillite Imminente SARL", "47.19", scoring.Decline,
		"Retailer in redressement judiciaire since April 2026: an open collective proceeding is default, grade D and decline."},
		func() scoring.Request {
			a := distressed(1.4e6)
			r := scoring.Request{Company: company("SARL", "2011-01-01"), Financials: twoYears(a, 0.85, -0.12*1.4e6),
				Payments: payments(64, 4, 0.75), Request: credit(10000, 30)}
			r.LegalEvents = []scoring.LegalEvent{
				{Type: scoring.EventPaymentIncident, Date: "2025-11-02"},
				{Type: scoring.EventCollectiveProceeding, Date: "2026-04-15"},
			}
			return r
		}},
	{Company{"999000177", "Rebond Mécanique SAS", "25.62", scoring.Decline,
		"Machine shop out of a safeguard proceeding that ended eighteen months ago, still losing money."},
		func() scoring.Request {
			a := strained(2.2e6)
			a.ebit, a.ni, a.re = -0.04*2.2e6, -0.06*2.2e6, -0.2*2.2e6
			r := scoring.Request{Company: company("SAS", "2003-08-19"), Financials: twoYears(a, 0.9, -0.08*2.2e6),
				Bank: months(12, 190000, -0.01, 1.04, -20000, -1500), Payments: payments(35, 2, 0.45), Request: credit(30000, 60)}
			r.LegalEvents = []scoring.LegalEvent{{Type: scoring.EventCollectiveProceeding, Date: "2022-02-01", EndedOn: "2024-12-20"}}
			return r
		}},
	{Company{"999000185", "Dettes et Compagnie SARL", "46.49", scoring.Decline,
		"Wholesaler with negative equity, two years of losses and supplier incidents."},
		func() scoring.Request {
			a := distressed(2.8e6)
			return scoring.Request{Company: company("SARL", "2010-12-01"), Financials: twoYears(a, 0.8, -0.1*2.8e6),
				Bank: months(12, 200000, -0.02, 1.08, -60000, -3000), Payments: payments(55, 3, 0.6), Request: credit(25000, 60)}
		}},
	{Company{"999000193", "CashBurn Tech SAS", "62.02", scoring.Decline,
		"Young software firm burning cash: losses, overdrawn most months and falling inflows."},
		func() scoring.Request {
			a := distressed(8.0e5)
			a.rev = 0.5 * 8e5
			return scoring.Request{Company: company("SAS", "2023-01-09"), Financials: twoYears(a, 1.3, -0.15*8e5),
				Bank: months(12, 60000, -0.04, 1.25, -5000, -4000), Request: credit(20000, 30)}
		}},
	{Company{"999000201", "Retards Chroniques SA", "52.29", scoring.Decline,
		"Freight forwarder that pays three months late, with five supplier incidents and a tax lien."},
		func() scoring.Request {
			a := strained(4.0e6)
			r := scoring.Request{Company: company("SA", "2008-06-02"), Financials: twoYears(a, 0.95, -0.02*4e6),
				Bank: months(12, 380000, -0.01, 1.02, -30000, -2000), Payments: payments(92, 5, 0.8), Request: credit(60000, 60)}
			r.LegalEvents = []scoring.LegalEvent{{Type: scoring.EventTaxLien, Date: "2026-01-12"}}
			return r
		}},
	{Company{"999000219", "Comptes Bancals SARL", "68.20", scoring.RequestGuarantees,
		"Property manager whose statement does not balance (equity far below assets minus liabilities) and that has little cash: leverage and equity are read from whichever figures show more risk, and the gap is flagged inconsistent."},
		func() scoring.Request {
			a := strained(3.5e6)
			a.eq = 0.02 * 3.5e6
			return scoring.Request{Company: company("SARL", "2015-02-02"), Financials: twoYears(a, 1.0, -0.01*3.5e6),
				Payments: payments(20, 1, 0.3), Request: credit(30000, 30)}
		}},
	{Company{"999000227", "Sans Bilan Services SAS", "81.21", scoring.Decline,
		"Cleaning company that sent no statement at all, only payment history and bank months: without a statement the engine declines; sending the latest accounts is the way to a decision."},
		func() scoring.Request {
			return scoring.Request{Company: company("SAS", "2017-03-15"), Payments: payments(5, 0, 0.1),
				Bank: months(12, 140000, 0, 0.98, 8000, 0), Request: credit(15000, 30)}
		}},
}

func intp(v int) *int { return &v }
