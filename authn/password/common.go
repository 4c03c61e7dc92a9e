package password

import (
	"strings"
	"sync"

	"github.com/trustelem/zxcvbn/frequency"
)

// CommonListSize is how many of the most common passwords CheckNew refuses.
const CommonListSize = 10_000

// commonPasswords is the set of the CommonListSize best-ranked entries of zxcvbn's "passwords"
// frequency list (ordered from most to least frequent), lower-cased. It is built on first use
// because most processes (those that only serve passkeys) never need it.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	ranked := frequency.FrequencyLists["passwords"]
	if len(ranked) < CommonListSize {
		// The module is pinned in go.mod; this only fires if a new version shrinks the list.
		panic("password: zxcvbn's password list has fewer than 10,000 entries")
	}
	set := make(map[string]struct{}, CommonListSize)
	for _, pw := range ranked[:CommonListSize] {
		set[strings.ToLower(pw)] = struct{}{}
	}
	return set
})

// IsCommon reports whether pw, ignoring case, is one of the 10,000 most common passwords.
func IsCommon(pw string) bool {
	_, found := commonPasswords()[strings.ToLower(pw)]
	return found
}
