package admin

import (
	"slices"
	"strings"
)

// sortBy sorts items ascending by key, the order pageOf pages through.
func sortBy[T any](items []T, key func(T) string) {
	slices.SortStableFunc(items, func(x, y T) int { return strings.Compare(key(x), key(y)) })
}
