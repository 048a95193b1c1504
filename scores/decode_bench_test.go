package scores

import (
	"os"
	"testing"
)

// BenchmarkDecodeRequest: strict decoding of a typical live body (two statements).
func BenchmarkDecodeRequest(b *testing.B) {
	body, err := os.ReadFile("testdata/bench.json")
	if err != nil {
		b.Skip(err)
	}
	for i := 0; i < b.N; i++ {
		if _, _, err := decodeRequest(body); err != nil {
			b.Fatal(err)
		}
	}
}
