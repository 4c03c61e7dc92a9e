package httpx

import "testing"

func TestFrameCSP(t *testing.T) {
	for _, tc := range []struct {
		urls []string
		want string
	}{
		{nil, CSP},
		{[]string{"javascript:alert(1)", "not a url\x7f", "/relative"}, CSP},
		{[]string{"https://a.example/fc?sid=1", "https://a.example:443/other", "http://127.0.0.1:9/fc", "https://a.example/again"},
			CSP + "; frame-src https://a.example https://a.example:443 http://127.0.0.1:9"},
	} {
		if got := FrameCSP(tc.urls); got != tc.want {
			t.Errorf("FrameCSP(%q) = %q, want %q", tc.urls, got, tc.want)
		}
	}
}
