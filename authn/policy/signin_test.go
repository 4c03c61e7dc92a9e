package policy

import (
	"fmt"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func at(t time.Time) *time.Time { return &t }

// The axes of the matrix. Grids are indexed [skipped][deadline].
const (
	skipNone, skipRecent, skipStale          = 0, 1, 2
	noDeadline, deadlineFuture, deadlinePast = 0, 1, 2
)

var (
	skipNames     = [3]string{"never skipped", "skipped 1h ago", "skipped 48h ago"}
	deadlineNames = [3]string{"no deadline", "deadline tomorrow", "deadline yesterday"}
)

func skippedAt(i int) *time.Time {
	return [3]*time.Time{nil, at(now.Add(-time.Hour)), at(now.Add(-48 * time.Hour))}[i]
}

func deadline(i int) *time.Time {
	return [3]*time.Time{nil, at(now.Add(24 * time.Hour)), at(now.Add(-24 * time.Hour))}[i]
}

// matrixPolicy: "Do this later" lasts 24h, so 1h ago is recent and 48h ago is stale. The deadline is
// set under every mode, to show that only Mandatory looks at it.
func matrixPolicy(m Mode, d int) Policy {
	p := Default()
	p.Mode, p.RemindAfter, p.PasswordsEndAt = m, 24*time.Hour, deadline(d)
	return p
}

const (
	C = Continue
	O = OfferPasskey
	R = RequirePasskey
	X = RefusePassword
)

// every is a grid with the same answer everywhere.
func every(n Next) [3][3]Next { return [3][3]Next{{n, n, n}, {n, n, n}, {n, n, n}} }

// TestAfterSignInMatrix covers Mode × HasPasskey × HasPassword × Method × skipped × deadline, every
// answer written out.
func TestAfterSignInMatrix(t *testing.T) {
	cases := []struct {
		mode                    Mode
		hasPasskey, hasPassword bool
		method                  Method
		want                    [3][3]Next // [skipped: none, recent, stale][deadline: none, future, past]
	}{
		// Off: passwords work and nothing is offered; a passkey always works.
		{Off, false, false, MethodPasskey, every(C)},
		{Off, false, true, MethodPasskey, every(C)},
		{Off, true, false, MethodPasskey, every(C)},
		{Off, true, true, MethodPasskey, every(C)},
		{Off, false, false, MethodPassword, every(X)}, // no password on record: distrusted
		{Off, false, true, MethodPassword, every(C)},
		{Off, true, false, MethodPassword, every(X)},
		{Off, true, true, MethodPassword, every(C)},

		// Optional: offered unless "Do this later" is recent; the deadline is ignored.
		{Optional, false, false, MethodPasskey, every(C)},
		{Optional, false, true, MethodPasskey, every(C)},
		{Optional, true, false, MethodPasskey, every(C)},
		{Optional, true, true, MethodPasskey, every(C)},
		{Optional, false, false, MethodPassword, every(X)},
		{Optional, false, true, MethodPassword, [3][3]Next{
			skipNone:   {O, O, O},
			skipRecent: {C, C, C},
			skipStale:  {O, O, O},
		}},
		{Optional, true, false, MethodPassword, every(X)},
		{Optional, true, true, MethodPassword, every(C)}, // the password is their fallback

		// Mandatory: required before the deadline, refused from it on; never skipped.
		{Mandatory, false, false, MethodPasskey, every(C)},
		{Mandatory, false, true, MethodPasskey, every(C)},
		{Mandatory, true, false, MethodPasskey, every(C)},
		{Mandatory, true, true, MethodPasskey, every(C)},
		{Mandatory, false, false, MethodPassword, every(X)},
		{Mandatory, false, true, MethodPassword, [3][3]Next{
			skipNone:   {R, R, X},
			skipRecent: {R, R, X},
			skipStale:  {R, R, X},
		}},
		{Mandatory, true, false, MethodPassword, every(X)},
		{Mandatory, true, true, MethodPassword, every(X)}, // must use the passkey
	}

	seen := map[string]bool{}
	for _, c := range cases {
		row := fmt.Sprintf("%s/passkey=%v/password=%v/%s", c.mode, c.hasPasskey, c.hasPassword, c.method)
		if seen[row] {
			t.Fatalf("row %s listed twice", row)
		}
		seen[row] = true
		for s := range 3 {
			for d := range 3 {
				name := fmt.Sprintf("%s/%s/%s", row, skipNames[s], deadlineNames[d])
				u := UserState{HasPasskey: c.hasPasskey, HasPassword: c.hasPassword, SkippedAt: skippedAt(s)}
				if got := AfterSignIn(matrixPolicy(c.mode, d), u, c.method, now); got != c.want[s][d] {
					t.Errorf("%s: got %v, want %v", name, got, c.want[s][d])
				}
			}
		}
	}
	if len(seen) != 3*2*2*2 {
		t.Fatalf("matrix has %d rows, want 24", len(seen))
	}
}

// TestPasswordSignInAllowedMatrix: whether the password form is offered, Mode × HasPasskey ×
// HasPassword × deadline (the "Do this later" time never matters, checked for all three).
func TestPasswordSignInAllowedMatrix(t *testing.T) {
	const T, F = true, false
	cases := []struct {
		mode                    Mode
		hasPasskey, hasPassword bool
		want                    [3]bool // deadline: none, future, past
	}{
		{Off, false, false, [3]bool{F, F, F}},
		{Off, false, true, [3]bool{T, T, T}},
		{Off, true, false, [3]bool{F, F, F}},
		{Off, true, true, [3]bool{T, T, T}},
		{Optional, false, false, [3]bool{F, F, F}},
		{Optional, false, true, [3]bool{T, T, T}},
		{Optional, true, false, [3]bool{F, F, F}},
		{Optional, true, true, [3]bool{T, T, T}},
		{Mandatory, false, false, [3]bool{F, F, F}},
		{Mandatory, false, true, [3]bool{T, T, F}},
		{Mandatory, true, false, [3]bool{F, F, F}},
		{Mandatory, true, true, [3]bool{F, F, F}},
	}
	for _, c := range cases {
		for d := range 3 {
			for s := range 3 {
				u := UserState{HasPasskey: c.hasPasskey, HasPassword: c.hasPassword, SkippedAt: skippedAt(s)}
				if got := PasswordSignInAllowed(matrixPolicy(c.mode, d), u, now); got != c.want[d] {
					t.Errorf("%s/passkey=%v/password=%v/%s/%s: got %v, want %v",
						c.mode, c.hasPasskey, c.hasPassword, deadlineNames[d], skipNames[s], got, c.want[d])
				}
			}
		}
	}
}

// The password form is offered exactly when a password sign-in would not be refused.
func TestPasswordFormAgreesWithAfterSignIn(t *testing.T) {
	for _, m := range []Mode{Off, Optional, Mandatory} {
		for _, pk := range []bool{false, true} {
			for _, pw := range []bool{false, true} {
				for s := range 3 {
					for d := range 3 {
						p, u := matrixPolicy(m, d), UserState{HasPasskey: pk, HasPassword: pw, SkippedAt: skippedAt(s)}
						if PasswordSignInAllowed(p, u, now) != (AfterSignIn(p, u, MethodPassword, now) != RefusePassword) {
							t.Errorf("%s/passkey=%v/password=%v/%s/%s disagree", m, pk, pw, skipNames[s], deadlineNames[d])
						}
					}
				}
			}
		}
	}
}

func TestRemindAfterEdges(t *testing.T) {
	opt := func(remind time.Duration) Policy {
		p := Default()
		p.Mode, p.RemindAfter = Optional, remind
		return p
	}
	cases := []struct {
		name    string
		remind  time.Duration
		skipped *time.Time
		want    Next
	}{
		{"remind 0 asks at every sign-in", 0, at(now.Add(-time.Second)), OfferPasskey},
		{"just inside the window", time.Hour, at(now.Add(-time.Hour + time.Nanosecond)), Continue},
		{"exactly RemindAfter ago asks again", time.Hour, at(now.Add(-time.Hour)), OfferPasskey},
		{"skipped this instant", time.Hour, at(now), Continue},
		{"skip time in the future is not trusted", time.Hour, at(now.Add(time.Minute)), OfferPasskey},
		{"never skipped", time.Hour, nil, OfferPasskey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u := UserState{HasPassword: true, SkippedAt: c.skipped}
			if got := AfterSignIn(opt(c.remind), u, MethodPassword, now); got != c.want {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestDeadlineEdges(t *testing.T) {
	p := Default()
	p.Mode = Mandatory
	u := UserState{HasPassword: true}
	cases := []struct {
		name    string
		end     *time.Time
		retired bool
		want    Next
	}{
		{"no deadline", nil, false, RequirePasskey},
		{"one nanosecond before", at(now.Add(time.Nanosecond)), false, RequirePasskey},
		{"at the deadline passwords stop", at(now), true, RefusePassword},
		{"deadline in another zone, passed", at(now.Add(-time.Minute).In(time.FixedZone("X", 5*3600))), true, RefusePassword},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p.PasswordsEndAt = c.end
			if got := PasswordsRetired(p, now); got != c.retired {
				t.Fatalf("PasswordsRetired = %v, want %v", got, c.retired)
			}
			if got := AfterSignIn(p, u, MethodPassword, now); got != c.want {
				t.Fatalf("AfterSignIn = %v, want %v", got, c.want)
			}
		})
	}
	// Only Mandatory retires passwords, even with a past date set by mistake.
	for _, m := range []Mode{Off, Optional} {
		q := Policy{Mode: m, PasswordsEndAt: at(now.Add(-time.Hour))}
		if PasswordsRetired(q, now) {
			t.Errorf("%s: passwords retired", m)
		}
	}
}

// Bad input fails closed: an unknown mode acts as Mandatory, an unknown method as a password.
func TestFailsClosed(t *testing.T) {
	bogus := Policy{Mode: "sometimes"}
	pwUser := UserState{HasPassword: true}
	if got := AfterSignIn(bogus, pwUser, MethodPassword, now); got != RequirePasskey {
		t.Errorf("unknown mode, password user: %v, want RequirePasskey", got)
	}
	if got := AfterSignIn(bogus, UserState{HasPasskey: true, HasPassword: true}, MethodPassword, now); got != RefusePassword {
		t.Errorf("unknown mode, passkey user by password: %v, want RefusePassword", got)
	}
	if got := Enrollment(bogus); got != PasskeyOnly {
		t.Errorf("unknown mode enrollment: %v", got)
	}
	if !DeletePasswordOnFirstPasskey(bogus) || !PasskeysOffered(bogus) {
		t.Error("unknown mode should act as Mandatory")
	}
	mandatory := Policy{Mode: Mandatory}
	if got := AfterSignIn(mandatory, UserState{HasPasskey: true, HasPassword: true}, "magic-link", now); got != RefusePassword {
		t.Errorf("unknown method: %v, want RefusePassword", got)
	}
	if got := AfterSignIn(Policy{Mode: Off}, UserState{}, "", now); got != RefusePassword {
		t.Errorf("empty method without a password: %v, want RefusePassword", got)
	}
	var zero Next
	if zero == Continue || zero.String() != "Next(0)" {
		t.Errorf("zero Next is %v", zero)
	}
	var zc EnrollChoice
	if zc.String() != "EnrollChoice(0)" {
		t.Errorf("zero EnrollChoice is %v", zc)
	}
}

func TestNextString(t *testing.T) {
	for n, want := range map[Next]string{Continue: "Continue", OfferPasskey: "OfferPasskey",
		RequirePasskey: "RequirePasskey", RefusePassword: "RefusePassword", Next(9): "Next(9)"} {
		if n.String() != want {
			t.Errorf("%d: %q, want %q", int(n), n.String(), want)
		}
	}
}

func TestPerModeAnswers(t *testing.T) {
	cases := []struct {
		mode           Mode
		enroll         EnrollChoice
		enrollName     string
		deletePassword bool
		offered        bool
	}{
		{Off, PasswordOnly, "PasswordOnly", false, false},
		{Optional, PasskeyOrPassword, "PasskeyOrPassword", false, true},
		{Mandatory, PasskeyOnly, "PasskeyOnly", true, true},
	}
	for _, c := range cases {
		for d := range 3 { // a deadline changes none of these
			p := matrixPolicy(c.mode, d)
			if got := Enrollment(p); got != c.enroll || got.String() != c.enrollName {
				t.Errorf("%s/%s: Enrollment = %v, want %v", c.mode, deadlineNames[d], got, c.enroll)
			}
			if got := DeletePasswordOnFirstPasskey(p); got != c.deletePassword {
				t.Errorf("%s: DeletePasswordOnFirstPasskey = %v", c.mode, got)
			}
			if got := PasskeysOffered(p); got != c.offered {
				t.Errorf("%s: PasskeysOffered = %v", c.mode, got)
			}
		}
	}
}
