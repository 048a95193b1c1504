package main

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/rocketfin/rocketfin/client"
)

// TestTheGeneratedClientWorks: the Go client generated from the document signs up, scores a
// sandbox company and turns refusals into typed errors with the problem's code.
func TestTheGeneratedClientWorks(t *testing.T) {
	s := startServer(t, nil)
	ctx := context.Background()
	anon, err := client.NewClientWithResponses(s.base)
	if err != nil {
		t.Fatal(err)
	}
	up, err := anon.SignUpWithResponse(ctx, nil, client.SignUpJSONRequestBody{CompanyName: "Client Go SAS", Email: "go@client.example", Country: "FR"})
	if err != nil || client.Check(up.HTTPResponse, up.Body) != nil || up.JSON201 == nil {
		t.Fatalf("sign up: %v %v %s", err, client.Check(up.HTTPResponse, up.Body), up.Body)
	}
	var sandbox string
	for _, k := range up.JSON201.ApiKeys {
		if k.Environment == "sandbox" && k.Secret != nil {
			sandbox = *k.Secret
		}
	}
	c, err := client.NewClientWithResponses(s.base, client.WithBearer(sandbox))
	if err != nil {
		t.Fatal(err)
	}
	var body client.CreateScoreJSONRequestBody
	body.Company.Id = "999000011"
	sc, err := c.CreateScoreWithResponse(ctx, nil, body)
	if err != nil || client.Check(sc.HTTPResponse, sc.Body) != nil || sc.JSON200 == nil {
		t.Fatalf("score: %v %s", err, sc.Body)
	}
	if sc.JSON200.Recommendation != "accept" || sc.JSON200.Score < 0 || sc.JSON200.CreditLimit.Currency != "EUR" {
		t.Fatalf("score answer: %+v", sc.JSON200)
	}
	got, err := c.GetScoreWithResponse(ctx, sc.JSON200.Id, nil)
	if err != nil || client.Check(got.HTTPResponse, got.Body) != nil || got.JSON200.Id != sc.JSON200.Id {
		t.Fatalf("get score: %v %s", err, got.Body)
	}

	missing, err := c.GetScoreWithResponse(ctx, "sc_00000000000000000000000000", nil)
	if err != nil {
		t.Fatal(err)
	}
	var apiErr *client.Error
	if err := client.Check(missing.HTTPResponse, missing.Body); !errors.As(err, &apiErr) || apiErr.Code != "not_found" || apiErr.Status != http.StatusNotFound || apiErr.RequestID == "" {
		t.Fatalf("a missing score: %v", err)
	}
	var bad client.CreateScoreJSONRequestBody
	bad.Company.Id = "ZZ-NOT-IN-CATALOG"
	refused, err := c.CreateScoreWithResponse(ctx, nil, bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Check(refused.HTTPResponse, refused.Body); !errors.As(err, &apiErr) || apiErr.Code != "invalid_request" || len(apiErr.Fields) == 0 || apiErr.Fields[0].Field != "company.id" {
		t.Fatalf("a refused score: %v", err)
	}
}
