package session

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
	"unsafe"
)

// sizes are the live-session counts the benchmarks compare: per-call
// cost should be flat from one to the other.
var sizes = []struct {
	name string
	n    int
}{{"1k", 1_000}, {"1M", 1_000_000}}

// heapInuse returns HeapInuse after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// filled returns a table of n live sessions, their ids packed in one
// pointer-free array, and the table's heap cost per session.
func filled(b *testing.B, n int) (*Table, [][IDLen]byte, float64) {
	b.Helper()
	ids := make([][IDLen]byte, n)
	before := heapInuse()
	tb := newTable(b, n)
	for i := range ids {
		id, _ := mustCreate(b, tb, i%1000, t0.Add(time.Duration(i)))
		copy(ids[i][:], id)
	}
	after := heapInuse()
	return tb, ids, float64(after-before) / float64(n)
}

// idAt views a packed id as a string without copying, so the benchmark
// loop allocates nothing of its own.
func idAt(ids [][IDLen]byte, i int) string {
	return unsafe.String(&ids[i][0], IDLen)
}

// BenchmarkLookupTouch looks up and touches sessions in tables of 1k
// and 1M. "hot" cycles through 1,000 sessions, as the clients of one
// test would while older sessions sit idle; "all" strides through
// every session, so at 1M most lookups miss the CPU cache.
func BenchmarkLookupTouch(b *testing.B) {
	for _, sz := range sizes {
		tb, ids, perSession := filled(b, sz.n)
		now := t0.Add(time.Minute)
		for _, pattern := range []struct {
			name string
			n    int
		}{{"hot", min(1000, sz.n)}, {"all", sz.n}} {
			b.Run(sz.name+"/"+pattern.name, func(b *testing.B) {
				i := 0
				for b.Loop() {
					i = (i + 7919) % pattern.n
					if _, st := tb.Lookup(idAt(ids, i), now, true); st != Live {
						b.Fatalf("Lookup = %v, want live", st)
					}
				}
				b.ReportMetric(perSession, "bytes/session")
			})
		}
		runtime.KeepAlive(ids)
	}
}

// garbage is written by the GC-included benchmarks so that allocations
// escape and the collector runs at its default pace.
var garbage []byte

// gcStats samples the collector's cycle count and CPU time.
type gcStats struct {
	cycles uint64
	cpu    float64 // seconds
}

func readGC() gcStats {
	ms := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(ms)
	return gcStats{ms[0].Value.Uint64(), ms[1].Value.Float64()}
}

// reportGC reports the collections since before and their CPU time per
// operation and per cycle: a table the collector must scan shows up as
// CPU per cycle that grows with the table.
func reportGC(b *testing.B, before gcStats) {
	after := readGC()
	cycles := after.cycles - before.cycles
	cpu := (after.cpu - before.cpu) * 1e9
	b.ReportMetric(float64(cycles), "GCs")
	b.ReportMetric(cpu/float64(b.N), "gc-cpu-ns/op")
	if cycles > 0 {
		b.ReportMetric(cpu/float64(cycles)/1e3, "gc-cpu-µs/GC")
	}
}

// BenchmarkLookupTouchGC looks up hot sessions as BenchmarkLookupTouch
// does, and allocates 1 KiB per call, as a request handler would, so
// that the collector runs throughout and its cost of scanning the table
// is part of the figure.
func BenchmarkLookupTouchGC(b *testing.B) {
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			tb, ids, _ := filled(b, sz.n)
			now := t0.Add(time.Minute)
			hot := min(1000, sz.n)
			before := readGC()
			i := 0
			for b.Loop() {
				i = (i + 7919) % hot
				garbage = make([]byte, 1024)
				if _, st := tb.Lookup(idAt(ids, i), now, true); st != Live {
					b.Fatalf("Lookup = %v, want live", st)
				}
			}
			reportGC(b, before)
		})
	}
}

// BenchmarkMapBaseline is the layout the table replaces, a map of
// string to pointer, measured like BenchmarkLookupTouchGC (hot
// sessions, 1 KiB of garbage per call) for comparison.
func BenchmarkMapBaseline(b *testing.B) {
	type sess struct {
		account int
		lastUse time.Time
	}
	for _, sz := range sizes {
		b.Run(sz.name, func(b *testing.B) {
			_, ids, _ := filled(b, sz.n)
			before := heapInuse()
			m := make(map[string]*sess)
			for i := range ids {
				m[string(ids[i][:])] = &sess{account: i}
			}
			perSession := float64(heapInuse()-before) / float64(sz.n)
			now := t0
			hot := min(1000, sz.n)
			gc := readGC()
			i := 0
			for b.Loop() {
				i = (i + 7919) % hot
				garbage = make([]byte, 1024)
				m[idAt(ids, i)].lastUse = now
			}
			reportGC(b, gc)
			b.ReportMetric(perSession, "bytes/session")
		})
	}
}

func BenchmarkCreate(b *testing.B) {
	tb := newTable(b, MaxSessions)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := tb.Create(1, t0.Add(time.Duration(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMinted(b *testing.B) {
	tb := newTable(b, 1)
	id, _ := mustCreate(b, tb, 1, t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := tb.Minted(id); !ok {
			b.Fatal("not minted")
		}
	}
}

// BenchmarkLookupParallel shows what the single lock costs when every
// core looks up sessions at once: "shards=4" splits the same sessions
// over four tables, as a sharded table would, and picks the table by
// the id. Run it with -cpu 1,2,4; sharding pays only if shards=4 is
// clearly faster at the higher counts.
func BenchmarkLookupParallel(b *testing.B) {
	const n = 100_000
	for _, shards := range []int{1, 4} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			tables := make([]*Table, shards)
			ids := make([][IDLen]byte, n)
			for s := range tables {
				tables[s] = newTable(b, n)
			}
			for i := range ids {
				id, _ := mustCreate(b, tables[i%shards], 1, t0)
				copy(ids[i][:], id)
			}
			now := t0.Add(time.Minute)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i = (i + 7919) % n
					tables[i%shards].Lookup(idAt(ids, i), now, true)
				}
			})
		})
	}
}

// BenchmarkSweep expires every session of a full table at once and
// reports the cost per swept session.
func BenchmarkSweep(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				tb := newTable(b, n)
				for range n {
					mustCreate(b, tb, 1, t0)
				}
				b.StartTimer()
				tb.List(t0.Add(3*idle), 1)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/session")
		})
	}
}
