package scoring

import "testing"

// BenchmarkEvaluate scores one request with every input present: two statements, twelve bank
// months, payments, legal events and a credit request.
func BenchmarkEvaluate(b *testing.B) {
	e := newEngine(b)
	req := healthyRequest()
	req.LegalEvents = []LegalEvent{{Type: EventCourtJudgment, Date: "2024-11-02"}, {Type: EventPaymentIncident, Date: "2022-03-15"}}
	opt := Options{AsOf: testDate, Language: "fr-FR,fr;q=0.9,en;q=0.8"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Evaluate(&req, opt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvaluateParallel runs the same evaluation on every core at once: the engine shares
// nothing mutable, so throughput grows with cores.
func BenchmarkEvaluateParallel(b *testing.B) {
	e := newEngine(b)
	req := healthyRequest()
	opt := Options{AsOf: testDate, Language: "pt"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Evaluate(&req, opt); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkEvaluateWithPath scores a strained firm that is not accepted: the engine also searches
// the smallest change that would reach accept, re-evaluating the request some hundred times.
func BenchmarkEvaluateWithPath(b *testing.B) {
	e := newEngine(b)
	req := strainedRequest()
	opt := Options{AsOf: testDate}
	b.ReportAllocs()
	for b.Loop() {
		r, err := e.Evaluate(&req, opt)
		if err != nil || r.PathToAccept == nil {
			b.Fatal("want a result with a path to accept", err)
		}
	}
}
