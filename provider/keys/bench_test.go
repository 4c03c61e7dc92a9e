package keys

import (
	"context"
	"testing"

	"github.com/portcullis-id/portcullis/internal/testdb"
)

func benchmarkSign(b *testing.B, alg string) {
	m := ensured(b, testdb.SQLite(b), Options{})
	signer := m.Signer()
	ctx := WithAlgorithm(context.Background(), alg)
	c, h := claims(), headers()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, _, err := signer.Generate(ctx, c, h); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSignES256(b *testing.B) { benchmarkSign(b, ES256) }
func BenchmarkSignRS256(b *testing.B) { benchmarkSign(b, RS256) }
