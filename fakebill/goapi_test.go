package fakebill

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestGoAPIEnding(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	login(t, s, acctA) // session#1, account#1
	login(t, s, acctA) // session#2
	login(t, s, acctB) // session#3, account#2, same user
	login(t, s, acctC) // session#4, account#3

	if got, ok := s.AccountLabel(acctA.UserName); got != "account#1" || !ok {
		t.Errorf("AccountLabel(alice) = %q, %v; want account#1, true", got, ok)
	}
	if got, ok := s.AccountLabel("nobody@example.invalid"); got != "" || ok {
		t.Errorf("AccountLabel(nobody) = %q, %v; want \"\", false", got, ok)
	}
	steps := []struct {
		name string
		do   func() int
		want int
	}{
		{"end a bad label", func() int { return b2i(s.EndSession("3")) }, 0},
		{"end an unknown session", func() int { return b2i(s.EndSession("session#99")) }, 0},
		{"end session#2", func() int { return b2i(s.EndSession("session#2")) }, 1},
		{"end session#2 again", func() int { return b2i(s.EndSession("session#2")) }, 0},
		{"end an unknown account", func() int { return s.EndAccount("account#9") }, 0},
		{"end account#1", func() int { return s.EndAccount("account#1") }, 1},
		{"end an unknown org", func() int { return s.EndOrg("008zzzzzzzzzzzzzzzz9") }, 0},
		{"end acctB's org", func() int { return s.EndOrg(acctB.OrgID) }, 1},
		{"end all", s.EndAll, 1},
	}
	for _, st := range steps {
		if got := st.do(); got != st.want {
			t.Errorf("%s: ended %d, want %d", st.name, got, st.want)
		}
	}
	if n := len(s.Sessions(0)); n != 0 {
		t.Errorf("%d sessions left", n)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestGoAPIClock(t *testing.T) {
	manual, _ := newTestServer(t, Options{})
	fixed, _ := NewServer(Options{Clock: ClockFunc(func() time.Time { return DefaultStartTime })})
	wall, _ := NewServer(Options{})
	tests := []struct {
		name    string
		s       *Server
		mode    string
		advance time.Duration
		setTo   time.Time
		wantAdv error
		wantSet error
	}{
		{"manual forward", manual, "manual", time.Minute, DefaultStartTime.Add(time.Hour), nil, nil},
		{"manual backwards", manual, "manual", -time.Minute, DefaultStartTime, ErrClockBackwards, ErrClockBackwards},
		{"injected", fixed, "injected", time.Minute, DefaultStartTime.Add(time.Hour), ErrClockNotMovable, ErrClockNotMovable},
		{"real forward", wall, "real", time.Hour, time.Now().Add(3 * time.Hour), nil, nil},
		{"real backwards", wall, "real", -time.Hour, time.Now(), ErrClockBackwards, ErrClockBackwards},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.ClockMode(); got != tt.mode {
				t.Errorf("ClockMode = %q, want %q", got, tt.mode)
			}
			if err := tt.s.Advance(tt.advance); !errors.Is(err, tt.wantAdv) {
				t.Errorf("Advance(%v) = %v, want %v", tt.advance, err, tt.wantAdv)
			}
			if err := tt.s.SetNow(tt.setTo); !errors.Is(err, tt.wantSet) {
				t.Errorf("SetNow = %v, want %v", err, tt.wantSet)
			}
		})
	}
	if got := manual.Now(); !got.Equal(DefaultStartTime.Add(time.Hour)) {
		t.Errorf("manual clock = %v, want start + 1h", got)
	}
}

func TestAccountsDefaults(t *testing.T) {
	s, _ := newTestServer(t, Options{})
	got := s.Accounts()
	want := []Account{acctA, acctB, acctC}
	want[2].UsersID, want[2].OrgName = "00600000000000000003", "Organization 3"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Accounts (-want +got):\n%s", diff)
	}
	got[0].Password = "changed"
	if s.Accounts()[0].Password != acctA.Password {
		t.Errorf("Accounts returned the server's own slice")
	}
}
