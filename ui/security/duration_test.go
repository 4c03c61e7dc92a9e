package security

import (
	"testing"
	"time"
)

func TestDurationString(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 seconds"},
		{time.Second, "1 second"},
		{90 * time.Second, "90 seconds"},
		{time.Minute, "1 minute"},
		{15 * time.Minute, "15 minutes"},
		{time.Hour, "1 hour"},
		{8 * time.Hour, "8 hours"},
		{24 * time.Hour, "24 hours"},
		{48 * time.Hour, "2 days"},
		{30 * 24 * time.Hour, "30 days"},
		{36 * time.Hour, "36 hours"},
		{1500 * time.Millisecond, "2 seconds"},
	} {
		if got := Duration(c.d).String(); got != c.want {
			t.Errorf("Duration(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}
