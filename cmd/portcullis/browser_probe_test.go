package main

import "time"

// webauthnProbe runs before the page's own script in every document. It only observes: it wraps
// navigator.credentials.get and create, passing every call through unchanged, and records each
// call's mediation and outcome in window.__webauthnCalls so that a test can see, for example, that
// the page has an autofill (conditional) request waiting.
const webauthnProbe = `(function () {
  if (!window.navigator || !navigator.credentials) { return; }
  var calls = window.__webauthnCalls = [];
  ["get", "create"].forEach(function (kind) {
    var orig = navigator.credentials[kind].bind(navigator.credentials);
    navigator.credentials[kind] = function (opts) {
      var rec = { kind: kind, mediation: (opts && opts.mediation) || "", state: "pending" };
      calls.push(rec);
      var p = orig(opts);
      p.then(function () { rec.state = "resolved"; }, function (e) { rec.state = "rejected:" + (e && e.name); });
      return p;
    };
  });
})();`

// webauthnCall is one call of navigator.credentials.get or create seen by webauthnProbe.
type webauthnCall struct {
	Kind      string `json:"kind"`
	Mediation string `json:"mediation"`
	State     string `json:"state"`
}

// webauthnCalls returns the WebAuthn calls of the current document.
func (d *browserDevice) webauthnCalls() []webauthnCall {
	d.t.Helper()
	calls, err := evalJS[[]webauthnCall](d, `window.__webauthnCalls || []`)
	if err != nil {
		d.t.Fatalf("%s: read the WebAuthn probe: %v", d.name, err)
	}
	return calls
}

// waitAutofillAgain waits until the sign-in page has made a second autofill request, after the
// prompt that ended its first.
func (d *browserDevice) waitAutofillAgain() {
	d.t.Helper()
	deadline := time.Now().Add(browserStep)
	for {
		n := 0
		for _, c := range d.webauthnCalls() {
			if c.Kind == "get" && c.Mediation == "conditional" {
				n++
			}
		}
		if n == 2 {
			return
		}
		if n > 2 || time.Now().After(deadline) {
			d.t.Fatalf("%s: want the page's autofill request and one more: %+v", d.name, d.webauthnCalls())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
