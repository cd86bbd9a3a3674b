package bench

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/fakebill/toolkit/fakebill"
)

// TestJournalRingBounds fills rings of several sizes, on both sides of
// their bound and of the journal's internal chunk size, and checks that
// the ring keeps exactly the newest entries and counts the rest dropped.
func TestJournalRingBounds(t *testing.T) {
	for _, size := range []int{1, 3, 1023, 1024, 1025, 2500} {
		for _, sent := range []int{size - 1, size, size + 1, 2*size + 3} {
			if sent < 0 {
				continue
			}
			t.Run(fmt.Sprintf("size=%d/sent=%d", size, sent), func(t *testing.T) {
				s := newFake(t, fakebill.Options{JournalSize: size})
				q := newRequest("/api/v2/nope", nil)
				w := newSink()
				for range sent {
					w.reset()
					s.ServeHTTP(w, q.make())
					if w.code != http.StatusNotFound {
						t.Fatalf("status %d, want 404", w.code)
					}
				}
				entries, dropped := s.Journal(0)
				kept := min(sent, size)
				if len(entries) != kept || dropped != int64(sent-kept) {
					t.Fatalf("journal: %d entries, %d dropped; want %d and %d",
						len(entries), dropped, kept, sent-kept)
				}
				for i, e := range entries {
					if want := int64(sent - kept + i + 1); e.Seq != want || e.DoneSeq != want {
						t.Fatalf("entry %d: seq %d done_seq %d, want both %d",
							i, e.Seq, e.DoneSeq, want)
					}
				}
				if st := s.Stats(); st.JournalLen != kept || st.Dropped != int64(sent-kept) {
					t.Errorf("Stats journal_len %d dropped %d, want %d and %d",
						st.JournalLen, st.Dropped, kept, sent-kept)
				}

				// After a clear the ring starts again; seq and dropped go on.
				s.ClearJournal()
				w.reset()
				s.ServeHTTP(w, q.make())
				entries, dropped2 := s.Journal(0)
				if len(entries) != 1 || entries[0].Seq != int64(sent+1) || dropped2 != dropped {
					t.Errorf("after clear: %d entries (first seq %v), dropped %d; want 1 (seq %d), dropped %d",
						len(entries), seqOf(entries), dropped2, sent+1, dropped)
				}
			})
		}
	}
}

func seqOf(entries []fakebill.Entry) any {
	if len(entries) == 0 {
		return nil
	}
	return entries[0].Seq
}

// TestGenericAnswers pins the bytes of the generic successes a call with
// no fixture gets, which the server encodes once.
func TestGenericAnswers(t *testing.T) {
	s := newFake(t, fakebill.Options{})
	sid := sessionOf(t, s)
	for _, tt := range []struct{ path, want string }{
		{"/api/v2/Crud/Read/Vendor.json", `{"response_status":0,"response_message":"Success","response_data":{}}`},
		{"/api/v2/List/Vendor.json", `{"response_status":0,"response_message":"Success","response_data":[]}`},
	} {
		w := newSink()
		w.keep = true
		s.ServeHTTP(w, newRequest(tt.path, callForm(sid)).make())
		if got := string(w.body); w.code != http.StatusOK || got != tt.want {
			t.Errorf("%s: %d %s, want 200 %s", tt.path, w.code, got, tt.want)
		}
		if ct := w.h.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", tt.path, ct)
		}
	}
}
