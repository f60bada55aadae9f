package floodgate

import _ "embed"

// OpenAPI is the API's OpenAPI document (docs/openapi.yaml), which every node
// serves at /openapi.yaml so that clients can discover the API.
//
//go:embed docs/openapi.yaml
var OpenAPI []byte
