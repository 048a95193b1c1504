// Package client is RocketFin's Go client, generated from the OpenAPI document by oapi-codegen
// (client.gen.go; `go generate ./client`), with typed errors: every refusal of the API is a
// *Error carrying the problem's stable code.
//
//	c, _ := client.NewClientWithResponses("https://api.example", client.WithBearer(secret))
//	res, err := c.CreateScoreWithResponse(ctx, nil, client.CreateScoreJSONRequestBody{...})
//	if err := client.Check(res.HTTPResponse, res.Body); err != nil { ... errors.As(err, &apiErr) ... }
package client

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../internal/openapi/openapi.json
