// Package consent owns what a user allowed a third-party app: the remembered decisions (which
// scopes, since when), the consent page (/consent) that asks, and taking a decision back, which
// also revokes the app's tokens for that user. First-party clients never reach it: the provider's
// authorize dispatcher (provider/authorize.go) skips them, and for everyone else decides whether a
// remembered decision covers the request. The page answers into the parked authorize request and
// sends the browser back to /oauth2/auth/resume; the provider then issues the code or returns
// access_denied to the client's validated redirect URI. The account page (ui/account) lists the
// decisions as "Connected apps".
package consent
