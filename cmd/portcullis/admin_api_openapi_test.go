package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/portcullis-id/portcullis/admin/api"
	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestAdminAPIOpenAPI: the served OpenAPI document describes exactly the routes the API mounts,
// with the same methods and paths.
func TestAdminAPIOpenAPI(t *testing.T) {
	s := startServer(t, testdb.SQLiteDSN(t), "")
	resp, err := http.Get(s.URL + api.Prefix + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Servers []struct{ URL string }               `json:"servers"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("openapi.json: %d, %v", resp.StatusCode, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Servers) != 1 || doc.Servers[0].URL != api.Prefix {
		t.Fatalf("openapi %q, servers %v", doc.OpenAPI, doc.Servers)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			if op["operationId"] == nil || op["responses"] == nil {
				t.Errorf("%s %s: no operationId or responses", method, path)
			}
		}
	}

	r := mux.NewRouter()
	(&api.Handler{}).Mount(r)
	var mounted []string
	err = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, api.Prefix+"/") {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // the JSON 404/405 catch-all has no method
		}
		for _, m := range methods {
			mounted = append(mounted, m+" "+strings.TrimPrefix(tpl, api.Prefix))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(documented)
	slices.Sort(mounted)
	for _, m := range mounted {
		if !slices.Contains(documented, m) {
			t.Errorf("mounted but not documented: %s", m)
		}
	}
	for _, d := range documented {
		if !slices.Contains(mounted, d) {
			t.Errorf("documented but not mounted: %s", d)
		}
	}
	if len(mounted) < 25 {
		t.Fatalf("only %d routes mounted: %v", len(mounted), mounted)
	}
}
