package fakebill

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFaultReplies(t *testing.T) {
	type call struct {
		path       string
		wantStatus int
		wantCode   string
	}
	tests := []struct {
		name  string
		fault Fault
		calls []call
	}{
		{"code twice", Fault{Match: FaultMatch{Path: "Crud/Read/Vendor.json"}, Reply: &FaultReply{Code: CodeConcurrencyLimit}, Times: 2},
			[]call{{"Crud/Read/Vendor.json", 200, CodeConcurrencyLimit}, {"List/Vendor.json", 200, ""},
				{"Crud/Read/Vendor.json", 200, CodeConcurrencyLimit}, {"Crud/Read/Vendor.json", 200, ""}}},
		{"until cleared", Fault{Match: FaultMatch{Op: "GetSessionInfo"}, Reply: &FaultReply{Code: CodeHourlyLimit}},
			[]call{{"GetSessionInfo.json", 200, CodeHourlyLimit}, {"GetSessionInfo.json", 200, CodeHourlyLimit}, {"GetSessionInfo.json", 200, CodeHourlyLimit}}},
		{"status", Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Status: 503}, Times: 1},
			[]call{{"Crud/Read/Vendor.json", 503, ""}, {"Crud/Read/Vendor.json", 200, ""}}},
		{"code with status", Fault{Match: FaultMatch{Path: "/List/Vendor"}, Reply: &FaultReply{Code: CodeSystemError, Status: 500}, Times: 1},
			[]call{{"List/Vendor.json", 500, CodeSystemError}}},
		{"star skips login", Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: CodeConcurrencyLimit}},
			[]call{{"Login.json", 200, ""}, {"ListOrgs.json", 200, ""}, {"Logout.json", 200, CodeConcurrencyLimit}}},
		{"login by name", Fault{Match: FaultMatch{Op: "Login"}, Reply: &FaultReply{Code: CodeBadCredentials}, Times: 1},
			[]call{{"Login.json", 200, CodeBadCredentials}, {"Login.json", 200, ""}}},
		{"before devKey", Fault{Match: FaultMatch{Op: "Crud/Read/Vendor"}, Reply: &FaultReply{Code: CodeLoginLocked}},
			[]call{{"Crud/Read/Vendor.json", 200, CodeLoginLocked}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{})
			sid := login(t, s, acctA)
			if err := s.AddFault(tt.fault); err != nil {
				t.Fatalf("AddFault: %v", err)
			}
			for i, c := range tt.calls {
				form := callForm(acctA, sid, "")
				switch c.path {
				case "Login.json":
					form = loginForm(acctA)
				case "ListOrgs.json":
					form = loginForm(acctA)
					form.Del("orgId")
				}
				ans := post(t, s, c.path, form)
				if ans.Status != c.wantStatus || ans.code() != c.wantCode {
					t.Errorf("call %d %s: got %d %q, want %d %q", i, c.path, ans.Status, ans.code(), c.wantStatus, c.wantCode)
				}
				if tt.fault.Reply.Code == "" && ans.Status == 503 {
					if ans.IsJSON || ans.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
						t.Errorf("status reply: Content-Type %q body %q, want plain text", ans.Header.Get("Content-Type"), ans.Body)
					}
				}
				if c.wantCode == CodeConcurrencyLimit && ans.message() != Message(CodeConcurrencyLimit) {
					t.Errorf("message = %q, want the service's", ans.message())
				}
			}
			if e := lastEntry(t, s); tt.calls[len(tt.calls)-1].wantCode != "" && e.Note == "" {
				t.Errorf("injected reply journaled without a note")
			}
		})
	}
}

func TestFaultInvalidSessionEndsSession(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	other := login(t, s, acctA)
	s.AddFault(Fault{Match: FaultMatch{Session: "session#1"}, Reply: &FaultReply{Code: CodeSessionInvalid}, Times: 1})
	if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Fatalf("injected: %q, want %s", got, CodeSessionInvalid)
	}
	if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("after the injected BDC_1109: %q, want the session ended", got)
	}
	if e := lastEntry(t, s); e.SessionState != SessionEnded {
		t.Errorf("state = %q, want ended", e.SessionState)
	}
	if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, other, "")).code(); got != "" {
		t.Errorf("session#2 hit by a fault for session#1: %q", got)
	}
}

func TestFaultDelay(t *testing.T) {
	s, clk := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	if err := s.AddFault(Fault{Match: FaultMatch{Path: "*"}, Delay: 36 * time.Minute, Times: 1}); err != nil {
		t.Fatal(err)
	}
	if got := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")).code(); got != CodeSessionInvalid {
		t.Errorf("call delayed past the idle timeout: %q, want %s", got, CodeSessionInvalid)
	}
	if got, want := clk.Now(), DefaultStartTime.Add(36*time.Minute); !got.Equal(want) {
		t.Errorf("clock after delay = %v, want %v", got, want)
	}

	fixed, err := NewServer(Options{Clock: ClockFunc(func() time.Time { return DefaultStartTime })})
	if err != nil {
		t.Fatal(err)
	}
	err = fixed.AddFault(Fault{Match: FaultMatch{Path: "*"}, Delay: time.Second})
	if !errors.Is(err, ErrClockNotMovable) {
		t.Errorf("delay on an injected clock: err %v, want ErrClockNotMovable", err)
	}
}

func TestFaultRealDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		sid := login(t, s, acctA)
		s.AddFault(Fault{Match: FaultMatch{Path: "*"}, RealDelay: 50 * time.Millisecond, Reply: &FaultReply{Code: CodeConcurrencyLimit}})
		start := time.Now()
		ans := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, ""))
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Errorf("request took %v of wall time, want 50ms", took)
		}
		if ans.code() != CodeConcurrencyLimit {
			t.Errorf("code = %q, want %s", ans.code(), CodeConcurrencyLimit)
		}
	})
}

func TestFaultBarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		sid := login(t, s, acctA)
		s.AddFault(Fault{Match: FaultMatch{Session: "session#1"}, Barrier: &Barrier{N: 3, Timeout: time.Hour}, Times: 3})

		var mu sync.Mutex
		var codes []string
		var wg sync.WaitGroup
		call := func() {
			ans := post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, ""))
			mu.Lock()
			codes = append(codes, ans.code())
			mu.Unlock()
		}
		wg.Go(call)
		wg.Go(call)
		synctest.Wait()
		mu.Lock()
		if len(codes) != 0 {
			t.Errorf("%d requests passed the barrier before the third arrived", len(codes))
		}
		mu.Unlock()
		wg.Go(call)
		wg.Wait()
		if diff := cmp.Diff([]string{"", "", ""}, codes); diff != "" {
			t.Errorf("codes (-want +got):\n%s", diff)
		}
		if len(s.Faults()) != 0 {
			t.Errorf("barrier with times 3 still queued after 3 requests")
		}
	})
}

func TestFaultBarrierTimeoutAndClear(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, _ := newTestServer(t, Options{})
		sid := login(t, s, acctA)
		s.AddFault(Fault{Match: FaultMatch{Path: "*"}, Barrier: &Barrier{N: 3, Timeout: 2 * time.Second}})
		start := time.Now()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() { post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")) })
		}
		wg.Wait()
		if took := time.Since(start); took != 2*time.Second {
			t.Errorf("held requests released after %v, want the 2s timeout", took)
		}

		start = time.Now()
		wg.Go(func() { post(t, s, "Crud/Read/Vendor.json", callForm(acctA, sid, "")) })
		synctest.Wait()
		s.ClearFaults()
		wg.Wait()
		if took := time.Since(start); took != 0 {
			t.Errorf("ClearFaults released the request after %v, want at once", took)
		}
	})
}

func TestAddFaultRefuses(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	tests := []struct {
		name  string
		fault Fault
	}{
		{"no match", Fault{Reply: &FaultReply{Code: CodeSystemError}}},
		{"two matches", Fault{Match: FaultMatch{Op: "Login", Path: "*"}, Reply: &FaultReply{Code: CodeSystemError}}},
		{"no effect", Fault{Match: FaultMatch{Path: "*"}}},
		{"empty reply", Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{}}},
		{"unknown code", Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: "BDC_9999"}}},
		{"bad status", Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Status: 99}}},
		{"negative times", Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Status: 503}, Times: -1}},
		{"negative delay", Fault{Match: FaultMatch{Path: "*"}, Delay: -time.Second}},
		{"empty barrier", Fault{Match: FaultMatch{Path: "*"}, Barrier: &Barrier{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.AddFault(tt.fault); !errors.Is(err, ErrBadFault) {
				t.Errorf("AddFault = %v, want ErrBadFault", err)
			}
		})
	}
	if n := len(s.Faults()); n != 0 {
		t.Errorf("%d refused faults were queued", n)
	}
}

func TestFaultJSON(t *testing.T) {
	in := `{"match":{"path":"*"},"reply":{"code":"BDC_1322"},"times":2,"delay":"2s","real_delay":"50ms","barrier":{"n":3,"timeout":"1m"}}`
	var f Fault
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	want := Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: "BDC_1322"}, Times: 2,
		Delay: 2 * time.Second, RealDelay: 50 * time.Millisecond, Barrier: &Barrier{N: 3, Timeout: time.Minute}}
	if diff := cmp.Diff(want, f); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	out, _ := json.Marshal(f)
	var back Fault
	if err := json.Unmarshal(out, &back); err != nil || !cmp.Equal(want, back) {
		t.Errorf("round trip through %s gave %+v, %v", out, back, err)
	}
	for _, bad := range []string{`{"match":{"path":"*"},"delay":"soon"}`, `{"match":{"path":"*"},"colour":1}`, `{"match":{"pth":"*"}}`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

var _ http.Handler = (*Server)(nil)

func TestFaultInvalidSessionClearsCookie(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	sid := login(t, s, acctA)
	s.AddFault(Fault{Match: FaultMatch{Path: "*"}, Reply: &FaultReply{Code: CodeSessionInvalid}, Times: 1})
	ans := post(t, s, "GetSessionInfo.json", url.Values{"devKey": {acctA.DevKey}}, withCookie("sid", sid))
	if c := ans.sidCookie(); ans.code() != CodeSessionInvalid || c == nil || c.MaxAge >= 0 {
		t.Errorf("injected BDC_1109 to a cookie client: code %q, Set-Cookie %+v; want the cookie cleared", ans.code(), c)
	}
}

func TestClearReleasesHeld(t *testing.T) {
	barrier := Fault{Match: FaultMatch{Op: "GetSessionInfo"}, Barrier: &Barrier{N: 3, Timeout: time.Hour}, Times: 1}
	barrierReply := Fault{Match: FaultMatch{Op: "GetSessionInfo"}, Barrier: &Barrier{N: 3, Timeout: time.Hour},
		Reply: &FaultReply{Code: CodeConcurrencyLimit}}
	realDelay := Fault{Match: FaultMatch{Op: "GetSessionInfo"}, RealDelay: time.Hour, Times: 1}
	clearFaults := func(t *testing.T, s *Server) { s.ClearFaults() }
	deleteFaults := func(t *testing.T, s *Server) { ctl(t, s, "DELETE", "/faults", "") }
	reset := func(t *testing.T, s *Server) { s.Reset() }
	postReset := func(t *testing.T, s *Server) { ctl(t, s, "POST", "/reset", "") }
	tests := []struct {
		name     string
		fault    Fault
		release  func(*testing.T, *Server)
		wantCode string
	}{
		{"barrier used up, ClearFaults", barrier, clearFaults, ""},
		{"barrier used up, DELETE /faults", barrier, deleteFaults, ""},
		{"barrier used up, Reset", barrier, reset, CodeSessionInvalid},
		{"barrier used up, POST /reset", barrier, postReset, CodeSessionInvalid},
		{"queued barrier with a reply, ClearFaults", barrierReply, clearFaults, ""},
		{"real delay, DELETE /faults", realDelay, deleteFaults, ""},
		{"real delay, POST /reset", realDelay, postReset, CodeSessionInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, _ := newTestServer(t, Options{})
				sid := login(t, s, acctA)
				if err := s.AddFault(tt.fault); err != nil {
					t.Fatal(err)
				}
				done := make(chan answer)
				go func() { done <- post(t, s, "GetSessionInfo.json", callForm(acctA, sid, "")) }()
				synctest.Wait()
				start := time.Now()
				tt.release(t, s)
				ans := <-done
				if took := time.Since(start); took != 0 {
					t.Errorf("request released after %v, want at once", took)
				}
				if got := ans.code(); got != tt.wantCode {
					t.Errorf("released request answered %q, want %q", got, tt.wantCode)
				}
				if e := lastEntry(t, s); !strings.Contains(e.Note, "released") {
					t.Errorf("journal note = %q, want it to say the request was released", e.Note)
				}
			})
		})
	}
}

func TestFaultDelayAtClockEnd(t *testing.T) {
	end := time.Date(2199, 12, 31, 23, 59, 0, 0, time.UTC)
	tests := []struct {
		name     string
		delay    time.Duration
		wantNow  time.Time
		wantNote string
	}{
		{"within the range", time.Minute, end.Add(time.Minute), "injected fault"},
		{"past the range", 2 * time.Minute, end, "injected fault: delay not applied, it would move the clock past 2200-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clk := newTestServer(t, Options{Clock: NewManualClock(end)})
			sid := login(t, s, acctA)
			s.AddFault(Fault{Match: FaultMatch{Op: "GetSessionInfo"}, Delay: tt.delay})
			post(t, s, "GetSessionInfo.json", callForm(acctA, sid, ""))
			if got := clk.Now(); !got.Equal(tt.wantNow) {
				t.Errorf("clock = %v, want %v", got, tt.wantNow)
			}
			if got := lastEntry(t, s).Note; got != tt.wantNote {
				t.Errorf("note = %q, want %q", got, tt.wantNote)
			}
		})
	}
}
