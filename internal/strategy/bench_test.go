package strategy

import "testing"

func BenchmarkDecideBuy(b *testing.B) {
	in := base()
	b.ReportAllocs()
	for b.Loop() {
		if d := Decide(in); d.Action != Copy {
			b.Fatal(d.Reason)
		}
	}
}
