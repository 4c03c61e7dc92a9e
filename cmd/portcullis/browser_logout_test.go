package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

// TestBrowserLogoutChannels signs out of an app in Chromium: the signed-out page's iframe loads
// the app's front-channel logout URI with iss and sid (so the page's CSP allowed that origin), and
// the app's back-channel endpoint receives a logout token for the same session.
func TestBrowserLogoutChannels(t *testing.T) {
	s, _ := startLogoutServer(t, testdb.SQLiteDSN(t), "", 50*time.Millisecond)
	framed := make(chan url.Values, 4)
	fc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/frontchannel" {
			framed <- r.URL.Query()
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<!DOCTYPE html><title>signed out of the app</title>"))
	}))
	t.Cleanup(fc.Close)
	rc := newLogoutReceiver(t)
	cb := newRPCallback(t)
	c := s.createClient("--name", "Browser app", "--type", "public", "--redirect-uri", cb.URL,
		"--frontchannel-logout-uri", fc.URL+"/frontchannel", "--frontchannel-logout-session-required",
		"--backchannel-logout-uri", rc.URL)
	r := newRP(t, s, c)
	r.config.RedirectURL = cb.URL

	d := newBrowserDevice(t, "Fran's laptop", deviceBoundKeys)
	s.enrollInBrowser(t, d, "fran")
	f := r.browserFlow()
	d.navigate(f.URL)
	tok, err := r.config.Exchange(context.Background(), cb.waitCode(t, d, f), oauth2.VerifierOption(f.verifier))
	if err != nil {
		t.Fatal(err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	sid := idTokenSID(t, idToken)

	d.navigate(logoutURL(s, url.Values{"id_token_hint": {idToken}}))
	d.shot("signed-out-frames")
	if h := d.text("h1"); h != "You are signed out" {
		t.Fatalf("signed-out page heading %q", h)
	}
	select {
	case q := <-framed:
		if q.Get("iss") != s.URL || q.Get("sid") != sid {
			t.Fatalf("front-channel logout URI framed with %v, want iss %s and sid %s", q, s.URL, sid)
		}
	case <-time.After(browserStep):
		t.Fatal("the signed-out page did not load the app's front-channel logout URI")
	}
	var sub string
	if err := s.env.db.Raw(`SELECT user_id FROM auth_sessions WHERE id = ?`, sid).Scan(&sub).Error; err != nil {
		t.Fatal(err)
	}
	verifyLogoutToken(t, s, rc.next(t), c.ID, sid, sub)
}
