// Package mail owns the email Portcullis sends to people: the SMTP settings and their validation,
// the embedded plain-text and HTML templates for each kind of message (enrollment link, recovery
// link, "a passkey was added"), and delivery. Delivery is over SMTP with STARTTLS or implicit TLS,
// or, when no SMTP host is configured, into the log at WARN, clearly marked as not sent, so that
// an operator can hand the link over by other means.
//
// Callers decide when to send and build the link; this package only composes and delivers.
package mail
