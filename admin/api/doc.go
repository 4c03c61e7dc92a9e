// Package api serves the JSON admin API at /api/admin/v1: the HTTP face of package admin for IT
// automation. Callers are OIDC clients that hold the admin:read and/or admin:write scope and
// present an access token from the client-credentials grant (RFC 6750 bearer tokens); a client
// administers its own organisation, and a client of the system organisation also the
// organisations and signing keys of the instance. The routes, their bodies and their errors are
// described by the embedded OpenAPI document served at /api/admin/v1/openapi.json, which a test
// keeps in step with the router.
package api
