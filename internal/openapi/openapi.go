// Package openapi embeds the OpenAPI 3.1 document that describes every
// route of the public, operator and health APIs; a test keeps it in step
// with the router.
package openapi

import _ "embed"

// Document is the OpenAPI document served at /openapi.json.
//
//go:embed openapi.json
var Document []byte
