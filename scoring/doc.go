// Package scoring is RocketFin's credit-risk engine: it turns a company's statements, bank
// months, payment behaviour, legal events and credit request into a 12-month probability of
// default, a 0–1000 score, a grade, a recommendation, a credit limit, reason codes and a
// justification.
//
// The engine is a pure function of its input, the embedded model file and the evaluation date:
// it uses the standard library only, holds no state beyond the model, and is safe for concurrent
// use. Every contribution to the log-odds is exact (an additive model), so reasons are true
// rather than approximated. See README.md for the model, its report and the formulas.
package scoring
