// Package session owns sign-in sessions at Portcullis: the server-side record of a signed-in
// browser (who, how, when, from which device), its cookie, and its idle and absolute lifetimes.
// Only a keyed hash of the cookie value is stored. The provider reads the current session to
// decide whether an authorize request can proceed and to fill auth_time, amr, acr and sid.
package session
